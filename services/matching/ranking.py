"""Ranked lists as callers see them: a worker's jobs and a job's workers, page by page to the end, and one
pair explained ("why not").

A page's cursor is the last item's (ranking score, id): the next page is what ranks after it, recomputed on the
index as it is then, so a list that changed between pages neither repeats nor skips what stayed. Scope is applied
inside the ranking (a station's candidates are ranked among its own workers), so every page is full until the
last.
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from libs.api.pagination import decode_cursor, encode_cursor
from libs.api.problems import not_found, validation_problem
from libs.auth import Principal, Role
from libs.db import beijing_date
from services.matching import repository
from services.matching.features import Match, job_features
from services.matching.filters import why_not
from services.matching.index import IndexHolder
from services.matching.index_pages import worker_of
from services.matching.models import JobView
from services.matching.ranker import Ranked, RankKey
from services.matching.schemas import (
    Candidate,
    Candidates,
    FilterOut,
    JobRecommendation,
    MatchExplained,
    ReasonOut,
    Recommendations,
)
from services.matching.service import acts_for_employer, job_in_scope, recommended, worker_in_scope


def reasons(match: Match) -> list[ReasonOut]:
    return [ReasonOut(code=r.code, label=r.label, weight=round(r.weight, 4)) for r in match.reasons]


def rank_key(cursor: str | None) -> RankKey | None:
    """The key a `next_cursor` carries; a tampered one is a 422 on `cursor`."""
    key = decode_cursor(cursor, 2)
    if key is None:
        return None
    score, item_id = key
    if not isinstance(score, int | float) or isinstance(score, bool) or not isinstance(item_id, str):
        raise validation_problem("query.cursor", "cursor_invalid", "游标无效，请使用上一页返回的 next_cursor")
    return float(score), item_id


def _next_cursor(page: Ranked) -> str | None:
    return encode_cursor(*page.next_key) if page.next_key is not None else None


async def recommend(
    session: AsyncSession,
    holder: IndexHolder,
    caller: Principal,
    person_id: str,
    limit: int,
    cursor: str | None = None,
) -> Recommendations:
    """A worker's jobs, best first, with the reasons, for those who act for the worker."""
    after = rank_key(cursor)
    worker = await worker_in_scope(session, caller, person_id)
    index = holder.index
    page = (
        index.recommend_page(worker.id, limit, beijing_date(), after)
        if index.has_worker(worker.id)
        else Ranked([], None, 0)
    )
    jobs = {
        job_id: row.job()
        for job_id, row in (await repository.jobs_by_id(session, [m.job_id for m in page.matches])).items()
    }
    items = [
        JobRecommendation(
            job_id=m.job_id,
            score=round(m.score, 4),
            reasons=reasons(m),
            title=jobs[m.job_id].title,
            employer_name=jobs[m.job_id].employer_name,
            city_code=jobs[m.job_id].city_code,
            salary_min=jobs[m.job_id].salary_min,
            salary_max=jobs[m.job_id].salary_max,
            headcount_left=jobs[m.job_id].headcount_left,
        )
        for m in page.matches
        if m.job_id in jobs
    ]
    if items:
        await recommended(session, worker, len(items))
    return Recommendations(person_id=worker.id, items=items, total=page.total, next_cursor=_next_cursor(page))


async def candidates(
    session: AsyncSession,
    holder: IndexHolder,
    caller: Principal,
    job_id: str,
    limit: int,
    cursor: str | None = None,
) -> Candidates:
    """Recruiters see every fitting worker of their job (as random ids); stations and provinces their own."""
    after = rank_key(cursor)
    job = await job_in_scope(session, caller, job_id)
    index = holder.index
    stations = [caller.station_id] if caller.role is Role.station and caller.station_id else None
    provinces = sorted(caller.provinces) if caller.role is Role.partner else None
    page = (
        index.candidates_page(job.id, limit, beijing_date(), after, stations=stations, provinces=provinces)
        if index.has_job(job.id)
        else Ranked([], None, 0)
    )
    workers = await repository.workers_by_id(session, [m.person_id for m in page.matches])
    items = [
        Candidate(
            person_id=m.person_id,
            score=round(m.score, 4),
            reasons=reasons(m),
            station_id=workers[m.person_id].station_id,
            province_code=workers[m.person_id].province_code,
        )
        for m in page.matches
        if m.person_id in workers and not workers[m.person_id].erased
    ]
    return Candidates(job_id=job.id, items=items, total=page.total, next_cursor=_next_cursor(page))


async def _pair_job(session: AsyncSession, caller: Principal, job_id: str) -> JobView:
    """The worker's side may ask about any job it could have seen, closed ones included (a clerk asks why a
    job went by); a job under review stays hidden."""
    if caller.role not in (Role.station, Role.partner):
        return await job_in_scope(session, caller, job_id)
    job = await repository.get_job(session, job_id)
    if job is None or job.status == "flagged":
        raise not_found("岗位")
    return job


async def explain_pair(
    session: AsyncSession, holder: IndexHolder, caller: Principal, person_id: str, job_id: str
) -> MatchExplained:
    """One pair's score, reasons, failed filters and places. Those acting for the worker see everything; a
    recruiter sees a worker only as a candidate of its own job (who fails the filters is not its to see)."""
    recruiter = caller.role is Role.recruiter
    job = await _pair_job(session, caller, job_id)
    row = await repository.get_worker(session, person_id)
    if recruiter:
        if row is None or row.erased or not acts_for_employer(caller, job.employer_id):
            raise not_found("务工人员")
    else:
        row = await worker_in_scope(session, caller, person_id)
    assert row is not None
    today = beijing_date()
    features, _ = worker_of(row)
    failed = why_not(job_features(job.job(), today), features, today, seeking=features.seeking)
    if recruiter and failed:
        raise not_found("务工人员")
    index = holder.index
    rank = index.pair(row.id, job.id, today) if index.has_worker(row.id) and index.has_job(job.id) else None
    return MatchExplained(
        person_id=row.id,
        job_id=job.id,
        matched=not failed,
        score=round(rank.match.score, 4) if rank else None,
        reasons=reasons(rank.match) if rank else [],
        failed=[FilterOut(code=m.code, label=m.label, detail=m.detail) for m in failed],
        place_for_worker=None if recruiter or rank is None else rank.place_for_worker,
        jobs_for_worker=None if recruiter or rank is None else rank.jobs_for_worker,
        place_for_job=rank.place_for_job if rank else None,
        workers_for_job=rank.workers_for_job if rank else None,
    )
