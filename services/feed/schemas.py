"""Feed's public contract: jobs as partners read them, with nothing that identifies a person."""

from __future__ import annotations

from datetime import date, datetime

from pydantic import BaseModel

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


class FeedPage(BaseModel):
    items: list[FeedItem]
    next_cursor: str | None
    version: int


class Removal(BaseModel):
    """The data of a `job.closed` stream event: a tombstone."""

    id: str
    removed_at: datetime
