"""Matching's public contract (API.md): recommendations, candidates, allocations, the hiring pipeline."""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, Field, field_validator, model_validator

from libs.api.schemas import RequestModel, example, example_of
from libs.db import beijing_date

Channel = Literal["station", "online", "livestream", "onsite"]

PERSON_ID = "9e8d7c6b-5a4f-4e3d-8c2b-1a0f9e8d7c6b"
JOB_ID = "5a6b7c8d-9e0f-4a1b-8c2d-3e4f5a6b7c8d"
EMPLOYER_ID = "0b1c2d3e-4f5a-4b6c-8d7e-9f0a1b2c3d4e"
STATION_ID = "7d3c2b1a-5e4f-4a6b-9c8d-1e2f3a4b5c6d"
APPLICATION_ID = "b5c6d7e8-f9a0-4b1c-8d2e-3f4a5b6c7d8e"
PLACEMENT_ID = "c6d7e8f9-a0b1-4c2d-9e3f-4a5b6c7d8e9f"
_REASONS = [
    {"code": "dormitory", "label": "提供住宿", "weight": 0.1},
    {"code": "priority_poverty_alleviated", "label": "脱贫人口优先", "weight": 0.15},
]


class ReasonOut(BaseModel):
    code: str
    label: str
    weight: float


class JobRecommendation(BaseModel):
    job_id: str
    score: float
    reasons: list[ReasonOut]
    title: str
    employer_name: str
    city_code: str
    salary_min: int
    salary_max: int
    headcount_left: int


class Recommendations(BaseModel):
    model_config = example(
        {
            "person_id": PERSON_ID,
            "items": [
                {
                    "job_id": JOB_ID,
                    "score": 0.82,
                    "reasons": _REASONS,
                    "title": "电子产品装配工",
                    "employer_name": "苏州精密电子有限公司",
                    "city_code": "3205",
                    "salary_min": 5200,
                    "salary_max": 7200,
                    "headcount_left": 18,
                }
            ],
            "total": 37,
            "next_cursor": "WzAuNjEsIjVhNmI3YzhkIl0",
        }
    )

    person_id: str
    items: list[JobRecommendation]
    total: int = Field(description="通过筛选的岗位总数")
    next_cursor: str | None = Field(default=None, description="下一页的游标；为空表示已到末页")


class Candidate(BaseModel):
    person_id: str
    score: float
    reasons: list[ReasonOut]
    station_id: str
    province_code: str


class Candidates(BaseModel):
    model_config = example(
        {
            "job_id": JOB_ID,
            "items": [
                {
                    "person_id": PERSON_ID,
                    "score": 0.82,
                    "reasons": _REASONS,
                    "station_id": STATION_ID,
                    "province_code": "61",
                }
            ],
            "total": 120,
            "next_cursor": None,
        }
    )

    job_id: str
    items: list[Candidate]
    total: int = Field(description="通过筛选、在您权限范围内的人数")
    next_cursor: str | None = Field(default=None, description="下一页的游标；为空表示已到末页")


class FilterOut(BaseModel):
    code: str
    label: str
    detail: str


class MatchExplained(BaseModel):
    """One worker and one job: the score and its reasons, every hard filter the pair fails and by how much, and
    the pair's place in the worker's jobs and in the job's workers (null where a filter keeps it out)."""

    model_config = example(
        {
            "person_id": PERSON_ID,
            "job_id": JOB_ID,
            "matched": False,
            "score": 0.61,
            "reasons": _REASONS,
            "failed": [
                {
                    "code": "too_old",
                    "label": "超过岗位年龄上限",
                    "detail": "年龄 52 岁，岗位要求 45 岁以下，超出 7 岁",
                },
                {"code": "city", "label": "不在意向城市", "detail": "岗位在南京市，意向城市为苏州市"},
            ],
            "place_for_worker": None,
            "jobs_for_worker": 37,
            "place_for_job": None,
            "workers_for_job": 120,
        }
    )

    person_id: str
    job_id: str
    matched: bool = Field(description="是否通过全部硬性条件（会出现在推荐与候选人列表中）")
    score: float | None = Field(description="匹配分；岗位已不在招时为空")
    reasons: list[ReasonOut]
    failed: list[FilterOut] = Field(description="未通过的硬性条件，及差多少")
    place_for_worker: int | None = Field(description="该岗位在此人推荐列表中的名次（1 为第一）")
    jobs_for_worker: int | None = Field(description="此人推荐列表中的岗位数")
    place_for_job: int | None = Field(description="此人在该岗位候选人中的名次")
    workers_for_job: int | None = Field(description="该岗位的候选人数")


class JobFilter(RequestModel):
    city_code: str | None = Field(default=None, pattern=r"^32\d{2}$")
    occupation_code: str | None = Field(default=None, max_length=20)
    employer_id: str | None = Field(default=None, max_length=36)


class AllocationRequest(RequestModel):
    model_config = example({"station_id": STATION_ID, "job_filter": {"city_code": "3205"}, "top_k": 10})

    station_id: str | None = Field(default=None, max_length=36)
    province_code: str | None = Field(default=None, pattern=r"^\d{2}$")
    job_filter: JobFilter = JobFilter()
    top_k: int = Field(default=10, ge=1, le=50, description="每人考虑的候选岗位数")

    @model_validator(mode="after")
    def _one_scope(self) -> AllocationRequest:
        if (self.station_id is None) == (self.province_code is None):
            raise ValueError("station_id 与 province_code 须且只须提供一个")
        return self


class Assignment(BaseModel):
    person_id: str
    job_id: str
    score: float


class AllocationStats(BaseModel):
    workers: int
    jobs: int
    total_score: float
    naive_total_score: float
    fit_given_up: float
    oversubscribed_jobs_naive: int
    oversubscribed_jobs: int


class AllocationOut(BaseModel):
    model_config = example(
        {
            "assignments": [{"person_id": PERSON_ID, "job_id": JOB_ID, "score": 0.82}],
            "unassigned": ["d7e8f9a0-b1c2-4d3e-8f4a-5b6c7d8e9f0a"],
            "stats": {
                "workers": 2,
                "jobs": 1,
                "total_score": 0.82,
                "naive_total_score": 1.5,
                "fit_given_up": 0.68,
                "oversubscribed_jobs_naive": 1,
                "oversubscribed_jobs": 0,
            },
        }
    )

    assignments: list[Assignment]
    unassigned: list[str]
    stats: AllocationStats


class ApplicationIn(RequestModel):
    model_config = example({"person_id": PERSON_ID, "job_id": JOB_ID, "channel": "station"})

    person_id: str = Field(min_length=1, max_length=36)
    job_id: str = Field(min_length=1, max_length=36)
    channel: Channel
    stream_id: str | None = Field(default=None, max_length=64, pattern=r"^[A-Za-z0-9._-]+$")


class ApplicationOut(BaseModel):
    model_config = example(
        {
            "id": APPLICATION_ID,
            "person_id": PERSON_ID,
            "job_id": JOB_ID,
            "employer_id": EMPLOYER_ID,
            "station_id": STATION_ID,
            "channel": "livestream",
            "stream_id": "kuaishou-live-7",
            "status": "offered",
            "placement_id": None,
            "created_at": "2026-11-20T20:16:00+08:00",
            "updated_at": "2026-11-21T10:00:00+08:00",
        }
    )

    id: str
    person_id: str
    job_id: str
    employer_id: str
    station_id: str
    channel: str
    stream_id: str | None
    status: str
    placement_id: str | None = None
    created_at: datetime
    updated_at: datetime


class PlaceIn(RequestModel):
    model_config = example({"start_date": "2027-03-01", "needs_transport": True})

    start_date: date
    needs_transport: bool

    @field_validator("start_date")
    @classmethod
    def _sane(cls, value: date) -> date:
        if abs((value - beijing_date()).days) > 366:
            raise ValueError("到岗日期须在一年以内")
        return value


class EndIn(RequestModel):
    model_config = example({"ended_on": "2026-11-30", "reason": "合同期满"})

    ended_on: date
    reason: str = Field(min_length=2, max_length=200)

    @field_validator("ended_on")
    @classmethod
    def _not_future(cls, value: date) -> date:
        if value > beijing_date():
            raise ValueError("离岗日期不能晚于今天")
        return value


class PlacementOut(BaseModel):
    model_config = example(
        {
            "id": PLACEMENT_ID,
            "application_id": APPLICATION_ID,
            "person_id": PERSON_ID,
            "job_id": JOB_ID,
            "employer_id": EMPLOYER_ID,
            "station_id": STATION_ID,
            "start_date": "2027-03-01",
            "needs_transport": True,
            "status": "active",
            "ended_on": None,
            "end_reason": None,
            "created_at": "2026-11-22T10:00:00+08:00",
        }
    )

    id: str
    application_id: str
    person_id: str
    job_id: str
    employer_id: str
    station_id: str
    start_date: date
    needs_transport: bool
    status: str
    ended_on: date | None
    end_reason: str | None
    created_at: datetime


class WeightFitOut(BaseModel):
    model_config = example(
        {
            "fitted_at": "2026-12-07T03:00:00+08:00",
            "weights": {
                "text": 0.357,
                "occupation": 0.261,
                "training": 0.104,
                "pay": 0.221,
                "dormitory": 0.057,
            },
            "outcomes": 2817,
            "positives": 1604,
            "judged_on": 845,
            "auc_hand": 0.734,
            "auc_learned": 0.748,
            "better": True,
        }
    )

    fitted_at: datetime
    weights: dict[str, float]
    outcomes: int = Field(description="已有结果的录用或婉拒（满 90 天在岗为正例，婉拒或 90 天内离岗为反例）")
    positives: int
    judged_on: int = Field(description="用于评估的较新结果数")
    auc_hand: float | None = Field(description="人工权重在较新结果上的 ROC AUC")
    auc_learned: float | None = Field(description="学习所得权重在较新结果上的 ROC AUC")
    better: bool = Field(description="学习所得权重是否优于人工权重（优于才会采用）")


class MatchWeights(BaseModel):
    """The factor weights matching ranks with now, the hand-set ones, and the last fit to outcomes."""

    model_config = example(
        {
            "mode": "learned",
            "in_use": {
                "text": 0.357,
                "occupation": 0.261,
                "training": 0.104,
                "pay": 0.221,
                "dormitory": 0.057,
            },
            "hand": {"text": 0.35, "occupation": 0.35, "training": 0.1, "pay": 0.15, "dormitory": 0.05},
            "latest_fit": example_of(WeightFitOut),
        }
    )

    mode: Literal["hand", "learned"] = Field(
        description="EW_MATCHING_WEIGHTS：hand 人工设定；learned 按录用结果学习"
    )
    in_use: dict[str, float]
    hand: dict[str, float]
    latest_fit: WeightFitOut | None
