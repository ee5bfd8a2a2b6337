"""Matching's public contract (API.md): recommendations, candidates, allocations, the hiring pipeline."""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, Field, field_validator, model_validator

from libs.api.schemas import RequestModel

Channel = Literal["station", "online", "livestream", "onsite"]


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
    person_id: str
    items: list[JobRecommendation]


class Candidate(BaseModel):
    person_id: str
    score: float
    reasons: list[ReasonOut]
    station_id: str
    province_code: str


class Candidates(BaseModel):
    job_id: str
    items: list[Candidate]


class JobFilter(RequestModel):
    city_code: str | None = Field(default=None, pattern=r"^32\d{2}$")
    occupation_code: str | None = Field(default=None, max_length=20)
    employer_id: str | None = Field(default=None, max_length=36)


class AllocationRequest(RequestModel):
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
    assignments: list[Assignment]
    unassigned: list[str]
    stats: AllocationStats


class ApplicationIn(RequestModel):
    person_id: str = Field(min_length=1, max_length=36)
    job_id: str = Field(min_length=1, max_length=36)
    channel: Channel
    stream_id: str | None = Field(default=None, max_length=64, pattern=r"^[A-Za-z0-9._-]+$")


class ApplicationOut(BaseModel):
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
    start_date: date
    needs_transport: bool

    @field_validator("start_date")
    @classmethod
    def _sane(cls, value: date) -> date:
        if abs((value - date.today()).days) > 366:
            raise ValueError("到岗日期须在一年以内")
        return value


class EndIn(RequestModel):
    ended_on: date
    reason: str = Field(min_length=2, max_length=200)

    @field_validator("ended_on")
    @classmethod
    def _not_future(cls, value: date) -> date:
        if value > date.today():
            raise ValueError("离岗日期不能晚于今天")
        return value


class PlacementOut(BaseModel):
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
