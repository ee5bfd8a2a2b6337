"""Event types (= NATS subjects) and payloads: the contracts between services. No person's identifiers here."""

from __future__ import annotations

from datetime import date, datetime

from pydantic import BaseModel

JOB_PUBLISHED = "ew.supply.job.published"
JOB_UPDATED = "ew.supply.job.updated"
JOB_CLOSED = "ew.supply.job.closed"
JOB_EVENTS = "ew.supply.job.>"


class Benefits(BaseModel):
    dormitory: bool = False
    meals: bool = False
    social_insurance: bool = False


class JobPayload(BaseModel):
    """A job as supply publishes it: everything a reader needs, so consumers never call supply back."""

    id: str
    version: int
    status: str
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
