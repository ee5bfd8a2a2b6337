"""Bus's public contract (API.md, bus): requests validated field by field, responses typed."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Annotated, Literal

from pydantic import AwareDatetime, BaseModel, Field, field_validator, model_validator

from libs.api.schemas import RequestModel
from libs.reference.regions import JIANGSU_CITIES

CityCode = Annotated[str, Field(pattern=r"^\d{4}$")]
TripStatus = Literal["scheduled", "cancelled"]
BookingStatus = Literal["confirmed", "waitlisted", "unserved", "cancelled"]
# A long-distance coach from the west to Jiangsu runs a day or more; a trip without `arrives_at` is taken to
# occupy this long (for "no two overlapping trips").
DEFAULT_TRIP_HOURS = 24
MAX_TRIP_HOURS = 96
MAX_SEATS = 2000  # a chartered train (专列) too


def _jiangsu_city(value: str) -> str:
    if value not in JIANGSU_CITIES:
        raise ValueError("城市代码必须是江苏 13 个设区市之一（3201 至 3213）")
    return value


class TripCreate(RequestModel):
    origin_station_id: str = Field(min_length=1, max_length=36, description="出发的劳务联络站")
    destination_city_codes: list[CityCode] = Field(
        min_length=1, max_length=13, description="依次停靠的江苏设区市代码"
    )
    departs_at: AwareDatetime = Field(description="发车时间（带时区）")
    arrives_at: AwareDatetime | None = Field(default=None, description="到达终点时间；缺省按发车后 24 小时计")
    seats: int = Field(ge=1, le=MAX_SEATS)
    operator: str = Field(min_length=1, max_length=100, description="承运单位")
    operator_id: str | None = Field(
        default=None, min_length=1, max_length=64, description="承运单位编号（令牌中的 operator_id）"
    )
    vehicle: str | None = Field(default=None, min_length=1, max_length=20, description="车牌号或车次")
    contact: str | None = Field(default=None, min_length=1, max_length=50, description="带车联系人及电话")
    pickup_point: str | None = Field(default=None, min_length=1, max_length=200, description="上车地点")

    @field_validator("destination_city_codes")
    @classmethod
    def _cities(cls, value: list[str]) -> list[str]:
        for code in value:
            _jiangsu_city(code)
        if len(set(value)) != len(value):
            raise ValueError("停靠城市不能重复")
        return value

    @model_validator(mode="after")
    def _times(self) -> TripCreate:
        if self.arrives_at is not None:
            if self.arrives_at <= self.departs_at:
                raise ValueError("arrives_at 必须晚于 departs_at")
            if self.arrives_at - self.departs_at > timedelta(hours=MAX_TRIP_HOURS):
                raise ValueError(f"行程不能超过 {MAX_TRIP_HOURS} 小时")
        return self


class TripCancel(RequestModel):
    reason: str | None = Field(default=None, min_length=1, max_length=200)


class Trip(BaseModel):
    id: str
    origin_station_id: str
    origin_province_code: str
    destination_city_codes: list[str]
    departs_at: datetime
    arrives_at: datetime
    seats: int
    seats_left: int
    waitlisted: int = 0
    operator: str
    operator_id: str | None
    vehicle: str | None
    contact: str | None
    pickup_point: str | None
    status: TripStatus
    cancel_reason: str | None
    created_at: datetime


class BookingCreate(RequestModel):
    person_id: str = Field(min_length=1, max_length=36)
    placement_id: str | None = Field(default=None, min_length=1, max_length=36)
    destination_city_code: CityCode | None = Field(
        default=None, description="下车城市；缺省为录用岗位所在城市，再缺省为终点"
    )


class Booking(BaseModel):
    id: str
    status: BookingStatus
    trip_id: str | None
    person_id: str
    placement_id: str | None
    station_id: str
    origin_station_id: str
    destination_city_code: str
    needed_by: date | None
    waitlist_position: int | None = Field(default=None, description="候补第几位（仅 waitlisted）")
    channel: str
    created_at: datetime
    updated_at: datetime
    cancelled_at: datetime | None


class ManifestPassenger(BaseModel):
    seat: int
    name: str
    id_number_masked: str
    phone: str
    pickup_point: str
    destination: str
    booking_id: str


class Manifest(BaseModel):
    trip: Trip
    passengers: list[ManifestPassenger]
