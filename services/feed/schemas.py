"""Feed's public contract: jobs as partners read them, with nothing that identifies a person."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Literal, get_args

from pydantic import BaseModel, Field, StringConstraints

from libs.api.schemas import RequestModel
from libs.events.contracts import Benefits


class FeedItem(BaseModel):
    id: str
    version: int
    employer_id: str
    employer_name: str
    employer_assistance_base: bool
    employer_caring: bool
    title: str
    description: str | None
    occupation_code: str | None
    industry: str | None
    city_code: str
    headcount: int
    headcount_left: int
    salary_min: int
    salary_max: int
    age_min: int | None
    age_max: int | None
    education_min: str | None
    skills: list[str]
    certificates_required: list[str]
    benefits: Benefits
    shift: str | None
    valid_until: date | None
    public_welfare: bool
    contract_months: int | None
    published_at: datetime | None
    updated_at: datetime
    listed_until: date | None = Field(
        default=None,
        description="展示至（北京时间，含当日）：有效期至；未填有效期的，为发布日加平台默认展示期。此后岗位自动下架",
    )


class FeedPage(BaseModel):
    items: list[FeedItem]
    next_cursor: str | None
    version: int


class Removal(BaseModel):
    """The data of a `job.closed` stream event: a tombstone."""

    id: str
    removed_at: datetime


# --- snapshots ----------------------------------------------------------------------------------------------


class SnapshotInfo(BaseModel):
    version: int = Field(description="期号：1, 2, …")
    feed_version: int = Field(description="截取时的信息版本（变更序号）")
    jobs: int = Field(description="在招岗位数")
    trigger: str = Field(description="schedule（定时）或 request（手动发布）")
    created_at: datetime
    pruned_at: datetime | None = Field(description="超过保留期、内容已删除的时间；此后读取内容为 410")


class SnapshotDocument(SnapshotInfo):
    """`format=json`: the snapshot with every job, ordered by job id."""

    items: list[FeedItem]


class Changes(BaseModel):
    """What changed from `since` to `version`, both in the number space `basis` names: snapshot numbers
    (`?since=`) or feed versions (`?since_version=`)."""

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
    fitting_workers: int = Field(description="该省已登记、正在求职且符合此岗位条件的务工人员人数")


class EditionPage(BaseModel):
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
