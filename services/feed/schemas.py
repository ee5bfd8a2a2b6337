"""Feed's public contract: jobs as partners read them, with nothing that identifies a person."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Literal, get_args

from pydantic import BaseModel, Field, StringConstraints

from libs.api.schemas import RequestModel, example
from libs.events.contracts import JOB_EXAMPLE, PublishedJob

JOB_ID = "5a6b7c8d-9e0f-4a1b-8c2d-3e4f5a6b7c8d"
SUBSCRIPTION_ID = "e8f9a0b1-c2d3-4e4f-9a5b-6c7d8e9f0a1b"
ITEM = {
    "id": JOB_ID,
    "version": 3,
    "employer_id": "0b1c2d3e-4f5a-4b6c-8d7e-9f0a1b2c3d4e",
    "employer_name": "苏州精密电子有限公司",
    "employer_assistance_base": True,
    "employer_caring": False,
    **JOB_EXAMPLE,
    "headcount_left": 18,
    "valid_until": None,
    "published_at": "2026-11-20T09:30:00+08:00",
    "updated_at": "2026-11-21T10:00:00+08:00",
}
CURSOR = "WyI1YTZiN2M4ZCJd"
_SNAPSHOT = {
    "version": 12,
    "feed_version": 345,
    "jobs": 1,
    "trigger": "schedule",
    "created_at": "2026-11-21T08:00:00+08:00",
    "pruned_at": None,
}
_FILTERS = {"city_code": "3205", "occupation_code": None, "event_types": ["job.published", "job.closed"]}


class FeedItem(PublishedJob):
    """A job in the shared feed: the published job (libs/events/contracts.py) and the day it leaves the feed."""

    model_config = example(ITEM)

    listed_until: date | None = Field(
        default=None,
        description="展示至（北京时间，含当日）：有效期至；未填有效期的，为发布日加平台默认展示期。此后岗位自动下架",
    )


class FeedPage(BaseModel):
    model_config = example({"items": [ITEM], "next_cursor": CURSOR, "version": 345})

    items: list[FeedItem]
    next_cursor: str | None
    version: int


class Removal(BaseModel):
    """The data of a `job.closed` stream event: a tombstone."""

    model_config = example({"id": JOB_ID, "removed_at": "2026-11-22T18:00:00+08:00"})

    id: str
    removed_at: datetime


# --- snapshots ----------------------------------------------------------------------------------------------


class SnapshotInfo(BaseModel):
    model_config = example(_SNAPSHOT)

    version: int = Field(description="期号：1, 2, …")
    feed_version: int = Field(description="截取时的信息版本（变更序号）")
    jobs: int = Field(description="在招岗位数")
    trigger: str = Field(description="schedule（定时）或 request（手动发布）")
    created_at: datetime
    pruned_at: datetime | None = Field(description="超过保留期、内容已删除的时间；此后读取内容为 410")


class SnapshotDocument(SnapshotInfo):
    """`format=json`: the snapshot with every job, ordered by job id."""

    model_config = example({**_SNAPSHOT, "items": [ITEM]})

    items: list[FeedItem]


class Changes(BaseModel):
    """What changed from `since` to `version`, both in the number space `basis` names: snapshot numbers
    (`?since=`) or feed versions (`?since_version=`)."""

    model_config = example(
        {
            "basis": "snapshot",
            "since": 11,
            "version": 12,
            "feed_version": 345,
            "added": [ITEM],
            "changed": [],
            "removed": [
                {"id": "6b7c8d9e-0f1a-4b2c-9d3e-4f5a6b7c8d9e", "removed_at": "2026-11-21T07:10:00+08:00"}
            ],
            "next_cursor": None,
        }
    )

    basis: Literal["snapshot", "feed"] = Field(
        description="snapshot：since、version 为快照期号；feed：since、version 为信息版本（GET /v1/feed 的 version）"
    )
    since: int
    version: int = Field(description="本次变更截至的编号；下次以它为 since（或 since_version）再取")
    feed_version: int = Field(description="截至的信息版本")
    added: list[FeedItem]
    changed: list[FeedItem]
    removed: list[Removal]
    next_cursor: str | None = Field(default=None, description="还有下一页时给出；原样带回取下一页")


# --- province editions --------------------------------------------------------------------------------------


class EditionItem(FeedItem):
    model_config = example({**ITEM, "fitting_workers": 37})

    fitting_workers: int = Field(description="该省已登记、正在求职且符合此岗位条件的务工人员人数")


class EditionPage(BaseModel):
    model_config = example(
        {
            "items": [{**ITEM, "fitting_workers": 37}],
            "next_cursor": None,
            "version": 345,
            "province_code": "61",
            "workers": 412,
        }
    )

    items: list[EditionItem]
    next_cursor: str | None
    version: int
    province_code: str
    workers: int = Field(description="该省正在求职的已登记务工人员人数")


# --- webhooks -----------------------------------------------------------------------------------------------

EventType = Literal["job.published", "job.updated", "job.closed"]
EVENT_TYPES: tuple[str, ...] = get_args(EventType)


class SubscriptionFilters(RequestModel):
    city_code: str | None = Field(default=None, pattern=r"^32\d{2}$", description="江苏设区市代码")
    occupation_code: str | None = Field(default=None, max_length=20, description="职业分类大典代码")
    event_types: list[EventType] | None = Field(
        default=None, min_length=1, max_length=3, description="不填为全部"
    )


class SubscriptionCreate(RequestModel):
    model_config = example(
        {
            "url": "https://hr.shaanxi.example.cn/eastwest/webhook",
            "secret": "k7Qx2mV9pL4sT8wZ",
            "filters": {"city_code": "3205", "event_types": ["job.published", "job.closed"]},
        }
    )

    url: str = Field(min_length=1, max_length=2000, description="接收推送的 http(s) 地址")
    secret: Annotated[
        str, StringConstraints(strip_whitespace=False, min_length=16, max_length=200, pattern=r"^\S+$")
    ] = Field(description="签名密钥，至少 16 个字符；只用于签名，任何响应都不会返回")
    filters: SubscriptionFilters = Field(default_factory=SubscriptionFilters)
    allow_private: bool = Field(default=False, description="允许内网或本机地址（仅管理员）")


class FiltersView(BaseModel):
    city_code: str | None
    occupation_code: str | None
    event_types: list[str]


class SubscriptionView(BaseModel):
    """The secret is never returned."""

    model_config = example(
        {
            "id": SUBSCRIPTION_ID,
            "url": "https://hr.shaanxi.example.cn/eastwest/webhook",
            "filters": _FILTERS,
            "allow_private": False,
            "active": True,
            "disabled_reason": None,
            "disabled_at": None,
            "created_at": "2026-11-20T09:30:00+08:00",
            "updated_at": "2026-11-20T09:30:00+08:00",
        }
    )

    id: str
    url: str
    filters: FiltersView
    allow_private: bool
    active: bool
    disabled_reason: str | None
    disabled_at: datetime | None
    created_at: datetime
    updated_at: datetime


class AttemptView(BaseModel):
    attempt: int
    at: datetime
    status_code: int | None
    error: str | None
    duration_ms: int


class DeliveryView(BaseModel):
    model_config = example(
        {
            "id": "f9a0b1c2-d3e4-4f5a-8b6c-7d8e9f0a1b2c",
            "event": "job.published",
            "job_id": JOB_ID,
            "feed_version": 345,
            "status": "delivered",
            "attempts": 2,
            "next_attempt_at": None,
            "last_status_code": 200,
            "last_error": None,
            "created_at": "2026-11-20T09:30:01+08:00",
            "delivered_at": "2026-11-20T09:30:03+08:00",
            "log": [
                {
                    "attempt": 1,
                    "at": "2026-11-20T09:30:01+08:00",
                    "status_code": 503,
                    "error": None,
                    "duration_ms": 120,
                },
                {
                    "attempt": 2,
                    "at": "2026-11-20T09:30:03+08:00",
                    "status_code": 200,
                    "error": None,
                    "duration_ms": 85,
                },
            ],
        }
    )

    id: str
    event: str
    job_id: str
    feed_version: int
    status: str = Field(
        description="pending（待投递或待重试）、delivered（已送达）、failed（重试用尽）、cancelled（订阅停用时未投递）"
    )
    attempts: int
    next_attempt_at: datetime | None
    last_status_code: int | None
    last_error: str | None
    created_at: datetime
    delivered_at: datetime | None
    log: list[AttemptView]
