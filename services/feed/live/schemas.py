"""The live board's contract: the card, the board, the station list, the pin, the stream's counters."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

from libs.api.schemas import RequestModel, example

_JOB_ID = "5a6b7c8d-9e0f-4a1b-8c2d-3e4f5a6b7c8d"
_CARD = {
    "id": _JOB_ID,
    "version": 3,
    "title": "电子产品装配工",
    "employer_name": "苏州精密电子有限公司",
    "city_code": "3205",
    "city_name": "苏州市",
    "salary_min": 5200,
    "salary_max": 7200,
    "dormitory": True,
    "meals": True,
    "headcount": 20,
    "headcount_left": 18,
}


class LiveCard(BaseModel):
    """One job as the board shows it."""

    model_config = example(_CARD)

    id: str
    version: int
    title: str
    employer_name: str
    city_code: str
    city_name: str
    salary_min: int
    salary_max: int
    dormitory: bool
    meals: bool
    headcount: int
    headcount_left: int


class LiveBoard(BaseModel):
    model_config = example({"version": 345, "items": [_CARD], "featured_job_id": _JOB_ID})

    version: int = Field(description="从此版本之后订阅 /live/stream（since）")
    items: list[LiveCard]
    featured_job_id: str | None


class LiveStationOut(BaseModel):
    id: str
    name: str
    province_code: str


class LiveStations(BaseModel):
    model_config = example(
        {
            "province_code": "61",
            "province_name": "陕西省",
            "items": [
                {
                    "id": "7d3c2b1a-5e4f-4a6b-9c8d-1e2f3a4b5c6d",
                    "name": "江苏驻西安新城劳务联络站",
                    "province_code": "61",
                }
            ],
        }
    )

    province_code: str | None
    province_name: str | None
    items: list[LiveStationOut]


class FeaturedIn(RequestModel):
    model_config = example({"job_id": _JOB_ID})

    job_id: str = Field(min_length=1, max_length=36, description="置顶展示的岗位")


class Featured(BaseModel):
    model_config = example(
        {"stream_id": "kuaishou-live-7", "job_id": _JOB_ID, "featured_at": "2026-11-20T20:05:00+08:00"}
    )

    stream_id: str
    job_id: str | None
    featured_at: datetime | None


class StreamStats(BaseModel):
    model_config = example(
        {
            "stream_id": "kuaishou-live-7",
            "views": 1520,
            "signups": 46,
            "leads": 19,
            "applications": 27,
            "placements": 9,
            "updated_at": "2026-11-20T21:00:00+08:00",
        }
    )

    stream_id: str
    views: int = Field(description="看板页面打开次数")
    signups: int = Field(description="看板报名次数（已登记务工人员与待联系人员）")
    leads: int = Field(description="其中登记为待联系的人数")
    applications: int = Field(description="归属此直播间的岗位报名数")
    placements: int = Field(description="归属此直播间的录用数")
    updated_at: datetime | None
