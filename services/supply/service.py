"""Supply's domain operations. Each state change writes its event to the outbox; the caller commits."""

from __future__ import annotations

import dataclasses
import uuid
from datetime import date, datetime
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from libs.api.problems import FieldError, Problem, not_found, validation_problem
from libs.auth import Principal, Role, require_role
from libs.db import utcnow
from libs.events.contracts import JOB_CLOSED, JOB_PUBLISHED, JOB_UPDATED, Benefits, JobPayload
from libs.events.envelope import new_event
from libs.events.outbox import add_event
from libs.spreadsheet_cells import RowError, read_upload
from services.supply import repository, risk
from services.supply.compliance import check_posting
from services.supply.imports import (
    REGIONAL_REQUIRED_HEADERS,
    REQUIRED_HEADERS,
    parse_regional_rows,
    parse_supply_rows,
)
from services.supply.models import Employer, Job, SupplyList, platform
from services.supply.schemas import EmployerCreate, ImportResult, JobCreate, JobPatch

SERVICE = "supply"


# --- scope --------------------------------------------------------------------------------------------------


def can_manage_employer(caller: Principal, employer: Employer) -> bool:
    """Who posts and changes an employer's jobs: an admin, the employer's own recruiter, the bureau of its city."""
    if caller.role is Role.recruiter:
        return caller.employer_id == employer.id
    if caller.role is Role.bureau:
        return caller.city_code == employer.city_code
    return caller.is_admin


def can_read_job(caller: Principal, job: Job) -> bool:
    """Those who manage the employer see its jobs in every status; provinces, stations, training bases and the
    bureaus see what is published."""
    if can_manage_employer(caller, job.employer):
        return True
    readers = (Role.partner, Role.station, Role.training, Role.bureau)
    return caller.role in readers and job.status == "published"


# --- employers ----------------------------------------------------------------------------------------------


async def create_employer(session: AsyncSession, caller: Principal, data: EmployerCreate) -> Employer:
    """An admin registers any employer; a bureau those of its own city."""
    require_role(caller, Role.admin, Role.bureau)
    if caller.role is Role.bureau and data.city_code != caller.city_code:
        raise Problem(
            403,
            "只能登记本市的用人单位",
            errors=[FieldError("body.city_code", "outside_scope", "不是本局所在城市")],
        )
    existing = await repository.employer_by_credit_code(session, data.credit_code)
    if existing is not None:
        raise Problem(
            409,
            "该统一社会信用代码的用人单位已存在",
            existing_id=existing.id,
            errors=[FieldError("body.credit_code", "duplicate", "统一社会信用代码已登记")],
        )
    employer = Employer(id=str(uuid.uuid4()), created_at=utcnow(), **data.model_dump())
    session.add(employer)
    try:
        await session.flush()
    except IntegrityError as error:  # a concurrent registration of the same code
        raise Problem(409, "该统一社会信用代码的用人单位已存在") from error
    return employer


async def list_employers(
    session: AsyncSession,
    caller: Principal,
    *,
    city_code: str | None,
    after: tuple[datetime, str] | None,
    limit: int,
) -> list[Employer]:
    """The employer directory, for admins and the origin side (partners, stations); a bureau's own city's."""
    require_role(caller, Role.admin, Role.partner, Role.station, Role.bureau)
    if caller.role is Role.bureau:
        if city_code not in (None, caller.city_code):
            return []
        city_code = caller.city_code
    return list(await repository.list_employers(session, city_code=city_code, after=after, limit=limit))


async def employer_in_scope(session: AsyncSession, caller: Principal, employer_id: str) -> Employer:
    employer = await repository.get_employer(session, employer_id)
    if employer is None or not (
        caller.role in (Role.partner, Role.station) or can_manage_employer(caller, employer)
    ):
        raise not_found("用人单位")
    return employer


async def managed_employer(
    session: AsyncSession, caller: Principal, employer_id: str, field: str
) -> Employer:
    """The employer a caller may post for; any other answers 404 naming the field."""
    employer = await repository.get_employer(session, employer_id)
    if employer is None or not can_manage_employer(caller, employer):
        problem = not_found("用人单位")
        problem.errors = [FieldError(field, "not_found", "用人单位不存在或不在您的权限范围内")]
        raise problem
    return employer


# --- jobs ---------------------------------------------------------------------------------------------------


def _compliance(job: Job, today: date) -> list[dict[str, str]]:
    texts = [job.title, job.description or "", job.shift or "", *job.skills, *job.certificates_required]
    issues = check_posting(texts=texts, salary_min=job.salary_min, city_code=job.city_code, on=today)
    held = risk.posting_issue(job.employer)
    issues += [held] if held is not None else []
    return [{"code": issue.code, "message": issue.message} for issue in issues]


def job_payload(job: Job) -> JobPayload:
    return JobPayload.model_validate(job, from_attributes=True)


def job_event(before: str | None, after: str) -> str | None:
    """What readers hear of a job going from status `before` (None: new) to `after`, said once for every change:
    a job published or changed while published, one that closes, and one flagged that readers had (they drop
    it); nothing of a job they never had."""
    if after == "closed":
        return JOB_CLOSED if before != "closed" else None
    if after == "published":
        return JOB_UPDATED if before == "published" else JOB_PUBLISHED
    return JOB_UPDATED if before == "published" else None


def _publish_or_flag(job: Job, now: datetime) -> None:
    """A posting with compliance issues is flagged (never reaches readers), any other is published."""
    job.compliance = _compliance(job, now.date())
    job.status = "flagged" if job.compliance else "published"
    if job.status == "published" and job.published_at is None:
        job.published_at = now


async def _changed(session: AsyncSession, job: Job, before: str | None) -> None:
    """Every change of a job ends here: written, and its event (if any) in the same transaction."""
    await session.flush()
    event_type = job_event(before, job.status)
    if event_type is not None:
        data = job_payload(job).model_dump(mode="json")
        await add_event(session, platform.outbox, new_event(SERVICE, event_type, job.id, data))


async def create_job(
    session: AsyncSession, caller: Principal, data: JobCreate, *, supply_list_id: str | None = None
) -> Job:
    require_role(caller, Role.admin, Role.recruiter, Role.bureau)
    employer = await managed_employer(session, caller, data.employer_id, "body.employer_id")
    now = utcnow()
    fields: dict[str, Any] = data.model_dump(exclude={"employer_id"}, exclude_none=True)
    fields["benefits"] = (data.benefits or Benefits()).model_dump()
    defaults: dict[str, Any] = {"skills": [], "certificates_required": [], "public_welfare": False}
    job = Job(
        id=str(uuid.uuid4()),
        employer_id=employer.id,
        employer=employer,
        supply_list_id=supply_list_id,
        filled=0,
        version=1,
        created_at=now,
        updated_at=now,
        **(defaults | fields),
    )
    _publish_or_flag(job, now)
    session.add(job)
    await _changed(session, job, None)
    return job


async def list_jobs(
    session: AsyncSession,
    caller: Principal,
    asked: repository.JobFilter,
    *,
    after: tuple[datetime, str] | None,
    limit: int,
) -> list[Job]:
    """A recruiter sees its employer's jobs in every status, a bureau those of its city's employers; everyone
    else published jobs only."""
    require_role(caller, Role.admin, Role.recruiter, Role.partner, Role.station, Role.training, Role.bureau)
    job_filter = asked
    if caller.role is Role.recruiter:
        job_filter = dataclasses.replace(asked, employer_id=caller.employer_id)
    elif caller.role is Role.bureau:
        job_filter = dataclasses.replace(asked, employer_city_code=caller.city_code)
    elif not caller.is_admin:
        published = asked.statuses in (None, ["published"])
        job_filter = dataclasses.replace(asked, statuses=["published"] if published else ["__none__"])
    return list(await repository.list_jobs(session, job_filter, after=after, limit=limit))


async def job_in_scope(
    session: AsyncSession, caller: Principal, job_id: str, *, for_update: bool = False
) -> Job:
    job = await repository.get_job(session, job_id, for_update=for_update)
    if job is None or not can_read_job(caller, job):
        raise not_found("岗位")
    return job


async def update_job(session: AsyncSession, caller: Principal, job_id: str, patch: JobPatch) -> Job:
    job = await job_in_scope(session, caller, job_id, for_update=True)
    if not can_manage_employer(caller, job.employer):
        raise not_found("岗位")
    if job.status == "closed":
        raise Problem(409, "岗位已关闭，不能再修改")
    changes: dict[str, Any] = patch.model_dump(exclude_unset=True)
    required = {"title", "city_code", "headcount", "salary_min", "salary_max", "public_welfare"}
    for name in required & changes.keys():
        if changes[name] is None:
            raise validation_problem(f"body.{name}", "required", f"{name} 不能为空")
    # `null` clears the optional collections.
    cleared: dict[str, Any] = {"skills": [], "certificates_required": [], "benefits": Benefits().model_dump()}
    for name, empty in cleared.items():
        if name in changes and changes[name] is None:
            changes[name] = empty
    _check_merged_ranges(job, changes)
    if "headcount" in changes and changes["headcount"] < job.filled:
        raise validation_problem(
            "body.headcount", "below_filled", f"招聘人数不能少于已录用的 {job.filled} 人"
        )
    if not changes:
        return job
    before = job.status
    for name, value in changes.items():
        setattr(job, name, value)
    now = utcnow()
    job.updated_at = now
    job.version += 1
    _publish_or_flag(job, now)
    await _changed(session, job, before)
    return job


def _check_merged_ranges(job: Job, changes: dict[str, Any]) -> None:
    salary_min = changes.get("salary_min", job.salary_min)
    salary_max = changes.get("salary_max", job.salary_max)
    if salary_min is not None and salary_max is not None and salary_min > salary_max:
        raise validation_problem("body.salary_max", "range", "salary_max 不能小于 salary_min")
    age_min = changes.get("age_min", job.age_min)
    age_max = changes.get("age_max", job.age_max)
    if age_min is not None and age_max is not None and age_min > age_max:
        raise validation_problem("body.age_max", "range", "age_max 不能小于 age_min")


async def close_job(session: AsyncSession, caller: Principal, job_id: str) -> Job:
    job = await job_in_scope(session, caller, job_id, for_update=True)
    if not can_manage_employer(caller, job.employer):
        raise not_found("岗位")
    if job.status == "closed":
        return job
    before, now = job.status, utcnow()
    job.status = "closed"
    job.closed_at = now
    job.updated_at = now
    job.version += 1
    await _changed(session, job, before)
    return job


# --- supply lists -------------------------------------------------------------------------------------------


async def import_supply_list(
    session: AsyncSession, caller: Principal, *, employer_id: str | None, filename: str, content: bytes
) -> ImportResult:
    """Every good row becomes a job, every bad row is reported; one transaction for the whole list. Without
    `employer_id` the list is a region's: each row names its employer (`import_regional_list`)."""
    if employer_id is None:
        return await import_regional_list(session, caller, filename=filename, content=content)
    await managed_employer(session, caller, employer_id, "form.employer_id")
    rows = await read_upload(content, filename, required_headers=REQUIRED_HEADERS)
    good, rejected = parse_supply_rows(rows, employer_id)
    supply_list = await _new_list(session, filename, employer_id=employer_id, city_code=None)
    return await _create_jobs(session, caller, supply_list, [data for _, data in good], rejected)


async def import_regional_list(
    session: AsyncSession, caller: Principal, *, filename: str, content: bytes
) -> ImportResult:
    """A bureau's (or an admin's) list of many employers' jobs. Employers are matched by credit code; one not
    yet registered is registered (a bureau's in its own city, an admin's in the city of its first job). An
    employer already registered in another city is not a bureau's to post for: its rows are reported."""
    rows = await read_upload(content, filename, required_headers=REQUIRED_HEADERS)
    if rows and not all(header in rows[0].values for header in REGIONAL_REQUIRED_HEADERS):
        message = "一家单位的清单请填写 employer_id；区域清单须有 用人单位名称、统一社会信用代码 两列"
        raise validation_problem("form.employer_id", "required", message)
    require_role(caller, Role.admin, Role.bureau)
    good, rejected = parse_regional_rows(rows)
    employers: dict[str, Employer | None] = {}
    matched = created = 0
    jobs: list[JobCreate] = []
    for number, listed, data in good:
        if listed.credit_code not in employers:
            employer = await repository.employer_by_credit_code(session, listed.credit_code)
            if employer is None:
                employer = Employer(
                    id=str(uuid.uuid4()),
                    name=listed.name,
                    credit_code=listed.credit_code,
                    city_code=caller.city_code or data.city_code,
                    created_at=utcnow(),
                )
                session.add(employer)
                created += 1
            elif can_manage_employer(caller, employer):
                matched += 1
            else:
                employer = None
            employers[listed.credit_code] = employer
        employer = employers[listed.credit_code]
        if employer is None:
            message = "该统一社会信用代码的单位已在其他城市登记，不在本局的权限范围内"
            rejected.append(
                RowError(row=number, column="统一社会信用代码", code="outside_scope", message=message)
            )
            continue
        jobs.append(data.model_copy(update={"employer_id": employer.id}))
    try:
        await session.flush()
    except IntegrityError as error:  # another import registered the same employer meanwhile
        raise Problem(409, "有单位正被同时登记，请稍后重试") from error
    rejected.sort(key=lambda error: error.row)
    supply_list = await _new_list(session, filename, employer_id=None, city_code=caller.city_code)
    supply_list.employers_matched, supply_list.employers_created = matched, created
    return await _create_jobs(session, caller, supply_list, jobs, rejected)


async def _new_list(
    session: AsyncSession, filename: str, *, employer_id: str | None, city_code: str | None
) -> SupplyList:
    supply_list = SupplyList(
        id=str(uuid.uuid4()),
        employer_id=employer_id,
        city_code=city_code,
        filename=filename[:200],
        accepted=0,
        rejected=[],
        created_at=utcnow(),
    )
    session.add(supply_list)
    await session.flush()
    return supply_list


async def _create_jobs(
    session: AsyncSession,
    caller: Principal,
    supply_list: SupplyList,
    jobs: list[JobCreate],
    rejected: list[RowError],
) -> ImportResult:
    job_ids: list[str] = []
    flagged = 0
    for data in jobs:
        job = await create_job(session, caller, data, supply_list_id=supply_list.id)
        job_ids.append(job.id)
        flagged += job.status == "flagged"
    supply_list.accepted = len(job_ids)
    supply_list.rejected = [error.model_dump() for error in rejected]
    await session.flush()
    return _result(supply_list, job_ids, flagged)


def _result(supply_list: SupplyList, job_ids: list[str], flagged: int) -> ImportResult:
    return ImportResult(
        list_id=supply_list.id,
        accepted=supply_list.accepted,
        flagged=flagged,
        rejected=supply_list.rejected,
        job_ids=job_ids,
        employers_matched=supply_list.employers_matched,
        employers_created=supply_list.employers_created,
    )


def can_read_list(caller: Principal, supply_list: SupplyList, employer: Employer | None) -> bool:
    """One employer's list: as its jobs; a region's: an admin, and the bureau that imported it."""
    if employer is not None:
        return can_manage_employer(caller, employer)
    return caller.is_admin or (caller.role is Role.bureau and caller.city_code == supply_list.city_code)


async def supply_list_in_scope(session: AsyncSession, caller: Principal, list_id: str) -> ImportResult:
    """The import's answer again: its rows' jobs as they are now."""
    supply_list = await repository.get_supply_list(session, list_id)
    employer = (
        await repository.get_employer(session, supply_list.employer_id)
        if supply_list is not None and supply_list.employer_id is not None
        else None
    )
    if supply_list is None or not can_read_list(caller, supply_list, employer):
        raise not_found("岗位供给清单")
    jobs = await repository.jobs_of_supply_list(session, list_id)
    return _result(supply_list, [job.id for job in jobs], sum(job.status == "flagged" for job in jobs))


# --- placements (from matching) -----------------------------------------------------------------------------


async def record_placement(session: AsyncSession, job_id: str, delta: int) -> None:
    """A placement fills a seat (the job closes when the last one is filled); an ended one frees it again."""
    job = await repository.get_job(session, job_id, for_update=True)
    if job is None:
        return
    filled = min(max(job.filled + delta, 0), job.headcount)
    if filled == job.filled:
        return
    before, now = job.status, utcnow()
    job.filled = filled
    job.version += 1
    job.updated_at = now
    if job.status == "published" and filled == job.headcount:
        job.status = "closed"
        job.closed_at = now
    await _changed(session, job, before)
