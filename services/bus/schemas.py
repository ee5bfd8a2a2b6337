"""Bus's public contract (API.md, bus): requests validated field by field, responses typed."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Annotated, Literal

from pydantic import AwareDatetime, BaseModel, Field, field_validator, model_validator

from libs.api.schemas import RequestModel, example
from libs.reference.regions import JIANGSU_CITIES

CityCode = Annotated[str, Field(pattern=r"^\d{4}$")]
TripStatus = Literal["scheduled", "cancelled"]
BookingStatus = Literal["confirmed", "waitlisted", "unserved", "cancelled"]
# A long-distance coach from the west to Jiangsu runs a day or more; a trip without `arrives_at` is taken to
# occupy this long (for "no two overlapping trips").
DEFAULT_TRIP_HOURS = 24
MAX_TRIP_HOURS = 96
MAX_SEATS = 2000  # a chartered train (专列) too


TRIP_ID = "1a2b3c4d-5e6f-4a7b-8c9d-0e1f2a3b4c5d"
BOOKING_ID = "3c4d5e6f-7a8b-4c9d-8e0f-1a2b3c4d5e6f"
STATION_ID = "7d3c2b1a-5e4f-4a6b-9c8d-1e2f3a4b5c6d"
PERSON_ID = "9e8d7c6b-5a4f-4e3d-8c2b-1a0f9e8d7c6b"
PLACEMENT_ID = "c6d7e8f9-a0b1-4c2d-9e3f-4a5b6c7d8e9f"
_TRIP_IN = {
    "origin_station_id": STATION_ID,
    "destination_city_codes": ["3205", "3202"],
    "departs_at": "2027-02-20T07:00:00+08:00",
    "arrives_at": "2027-02-21T09:00:00+08:00",
    "seats": 45,
    "operator": "陕西长运客运有限公司",
    "operator_id": "sxcy",
    "vehicle": "陕A·12345",
    "contact": "王师傅 13800138000",
    "pickup_point": "西安市新城区解放路 100 号联络站门口",
}
_TRIP = {
    "id": TRIP_ID,
    **_TRIP_IN,
    "origin_province_code": "61",
    "seats_left": 12,
    "waitlisted": 0,
    "status": "scheduled",
    "cancel_reason": None,
    "created_at": "2026-11-20T09:30:00+08:00",
}


def _jiangsu_city(value: str) -> str:
    if value not in JIANGSU_CITIES:
        raise ValueError("城市代码必须是江苏 13 个设区市之一（3201 至 3213）")
    return value


class TripCreate(RequestModel):
    model_config = example(_TRIP_IN)

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
    model_config = example({"reason": "大雪封路，改期发车"})

    reason: str | None = Field(default=None, min_length=1, max_length=200)


class Trip(BaseModel):
    model_config = example(_TRIP)

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
    model_config = example(
        {"person_id": PERSON_ID, "placement_id": PLACEMENT_ID, "destination_city_code": "3205"}
    )

    person_id: str = Field(min_length=1, max_length=36)
    placement_id: str | None = Field(default=None, min_length=1, max_length=36)
    destination_city_code: CityCode | None = Field(
        default=None, description="下车城市；缺省为录用岗位所在城市，再缺省为终点"
    )


class Booking(BaseModel):
    model_config = example(
        {
            "id": BOOKING_ID,
            "status": "confirmed",
            "trip_id": TRIP_ID,
            "person_id": PERSON_ID,
            "placement_id": PLACEMENT_ID,
            "station_id": STATION_ID,
            "origin_station_id": STATION_ID,
            "destination_city_code": "3205",
            "needed_by": "2027-03-01",
            "waitlist_position": None,
            "channel": "station",
            "created_at": "2026-11-22T10:05:00+08:00",
            "updated_at": "2026-11-22T10:05:00+08:00",
            "cancelled_at": None,
        }
    )

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
    model_config = example(
        {
            "trip": _TRIP,
            "passengers": [
                {
                    "seat": 1,
                    "name": "张明",
                    "id_number_masked": "6101**********1232",
                    "phone": "13912345678",
                    "pickup_point": "西安市新城区解放路 100 号联络站门口",
                    "destination": "苏州市",
                    "booking_id": BOOKING_ID,
                }
            ],
        }
    )

    trip: Trip
    passengers: list[ManifestPassenger]
