"""Matching's queries: its read models (jobs, workers) and its pipeline (applications, placements)."""

from __future__ import annotations

from collections.abc import Collection
from datetime import date, datetime

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from libs.db import after_key
from services.matching.models import Application, JobView, Placement, Recommendation, WeightFit, WorkerView


async def get_job(session: AsyncSession, job_id: str, *, for_update: bool = False) -> JobView | None:
    return await session.get(JobView, job_id, with_for_update=for_update)


async def get_worker(session: AsyncSession, person_id: str) -> WorkerView | None:
    return await session.get(WorkerView, person_id)


async def jobs_by_id(session: AsyncSession, job_ids: Collection[str]) -> dict[str, JobView]:
    if not job_ids:
        return {}
    return {row.id: row for row in await session.scalars(select(JobView).where(JobView.id.in_(job_ids)))}


async def workers_by_id(session: AsyncSession, person_ids: Collection[str]) -> dict[str, WorkerView]:
    if not person_ids:
        return {}
    rows = await session.scalars(select(WorkerView).where(WorkerView.id.in_(person_ids)))
    return {row.id: row for row in rows}


async def workers_of(
    session: AsyncSession, *, station_id: str | None = None, province_code: str | None = None
) -> list[WorkerView]:
    """The workers (not erased) of one station, or else of one province."""
    query = select(WorkerView).where(WorkerView.erased.is_(False))
    if station_id is not None:
        query = query.where(WorkerView.station_id == station_id)
    else:
        query = query.where(WorkerView.province_code == province_code)
    return list(await session.scalars(query))


async def application_for(session: AsyncSession, person_id: str, job_id: str) -> Application | None:
    query = select(Application).where(Application.person_id == person_id, Application.job_id == job_id)
    return (await session.scalars(query)).first()


async def get_application(
    session: AsyncSession, application_id: str, *, for_update: bool = False
) -> Application | None:
    query = select(Application).where(Application.id == application_id)
    if for_update:
        query = query.with_for_update()
    return (await session.scalars(query)).first()


async def applications(
    session: AsyncSession,
    scope: ColumnElement[bool],
    *,
    person_id: str | None,
    job_id: str | None,
    status: str | None,
    after: tuple[datetime, str] | None,
    limit: int,
) -> list[Application]:
    """One page of applications within `scope`, oldest first."""
    query = select(Application).where(scope)
    for column, value in (
        (Application.person_id, person_id),
        (Application.job_id, job_id),
        (Application.status, status),
    ):
        if value is not None:
            query = query.where(column == value)
    query = query.where(after_key(Application.created_at, Application.id, after))
    return list(await session.scalars(query.order_by(Application.created_at, Application.id).limit(limit)))


async def active_placements(session: AsyncSession, job_id: str) -> int:
    query = (
        select(func.count())
        .select_from(Placement)
        .where(Placement.job_id == job_id, Placement.status == "active")
    )
    return int(await session.scalar(query) or 0)


async def get_placement(
    session: AsyncSession, placement_id: str, *, for_update: bool = False
) -> Placement | None:
    return await session.get(Placement, placement_id, with_for_update=for_update)


async def placement_of(session: AsyncSession, application_id: str) -> Placement | None:
    query = select(Placement).where(Placement.application_id == application_id)
    return (await session.scalars(query)).first()


async def add_recommendation(session: AsyncSession, day: Recommendation) -> bool:
    """Keeps the day's first recommendation to a worker; False when the day already has one (or a request
    racing this one kept it first)."""
    if await session.get(Recommendation, (day.person_id, day.recommended_on)) is not None:
        return False
    try:
        async with session.begin_nested():
            session.add(day)
    except IntegrityError:
        return False
    return True


async def outcomes(session: AsyncSession) -> list[tuple[str, str, bool, date | None, date | None, datetime]]:
    """Every application that reached an offer: (person, job, declined, start date, end date, last change).
    `learning.label_of` says which are outcomes yet."""
    query = (
        select(
            Application.person_id,
            Application.job_id,
            Application.status == "declined",
            Placement.start_date,
            Placement.ended_on,
            Application.updated_at,
        )
        .outerjoin(Placement, Placement.application_id == Application.id)
        .where(Application.offered_at.is_not(None))
    )
    return [tuple(row) for row in await session.execute(query)]  # type: ignore[misc]


async def latest_fit(session: AsyncSession) -> WeightFit | None:
    return (await session.scalars(select(WeightFit).order_by(WeightFit.fitted_at.desc()).limit(1))).first()
