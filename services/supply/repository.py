"""Every query supply makes."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Select, select
from sqlalchemy.ext.asyncio import AsyncSession

from libs.db import after_key
from services.supply.models import Employer, Job, SupplyList


@dataclass(frozen=True)
class JobFilter:
    employer_id: str | None = None
    city_code: str | None = None
    occupation_code: str | None = None
    statuses: Sequence[str] | None = None
    employer_city_code: str | None = None  # the employer's city (a bureau's jobs), not where the job is


async def get_employer(session: AsyncSession, employer_id: str) -> Employer | None:
    return await session.get(Employer, employer_id)


async def employer_by_credit_code(session: AsyncSession, credit_code: str) -> Employer | None:
    result = await session.scalars(select(Employer).where(Employer.credit_code == credit_code))
    return result.first()


async def list_employers(
    session: AsyncSession, *, city_code: str | None, after: tuple[datetime, str] | None, limit: int
) -> Sequence[Employer]:
    query = select(Employer)
    if city_code:
        query = query.where(Employer.city_code == city_code)
    query = query.where(after_key(Employer.created_at, Employer.id, after))
    return (await session.scalars(query.order_by(Employer.created_at, Employer.id).limit(limit))).all()


async def get_job(session: AsyncSession, job_id: str, *, for_update: bool = False) -> Job | None:
    query: Select[tuple[Job]] = select(Job).where(Job.id == job_id)
    if for_update:
        query = query.with_for_update(of=Job)
    return (await session.scalars(query)).first()


async def list_jobs(
    session: AsyncSession, job_filter: JobFilter, *, after: tuple[datetime, str] | None, limit: int
) -> Sequence[Job]:
    query = select(Job)
    if job_filter.employer_id:
        query = query.where(Job.employer_id == job_filter.employer_id)
    if job_filter.city_code:
        query = query.where(Job.city_code == job_filter.city_code)
    if job_filter.occupation_code:
        query = query.where(Job.occupation_code == job_filter.occupation_code)
    if job_filter.statuses:
        query = query.where(Job.status.in_(job_filter.statuses))
    if job_filter.employer_city_code:
        in_city = select(Employer.id).where(Employer.city_code == job_filter.employer_city_code)
        query = query.where(Job.employer_id.in_(in_city))
    query = query.where(after_key(Job.created_at, Job.id, after))
    return (await session.scalars(query.order_by(Job.created_at, Job.id).limit(limit))).all()


async def get_supply_list(session: AsyncSession, list_id: str) -> SupplyList | None:
    return await session.get(SupplyList, list_id)


async def jobs_of_supply_list(session: AsyncSession, list_id: str) -> Sequence[Job]:
    query = select(Job).where(Job.supply_list_id == list_id).order_by(Job.created_at, Job.id)
    return (await session.scalars(query)).all()
