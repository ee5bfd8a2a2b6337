"""Training's domain operations and scope rules. Completion writes its event to the outbox; the caller commits.

Scope, in one place:
- bases and programmes are a catalogue: admin, partners and stations read all of them (stations and
  provinces look for courses for their workers); a training base reads only its own base and programmes.
- a base is managed (programmes created for it) by admin, by a partner whose provinces hold it, by itself.
- an enrolment is seen by admin, by its base, by the person's station, by a partner of the person's province.
- anything outside the caller's scope answers 404 (a referenced id in a body: the error names the field);
  recruiter and public tokens get 403 on every training endpoint.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from libs.api.problems import FieldError, Problem, not_found, validation_problem
from libs.auth import Principal, Role, require_role
from libs.db import beijing_date, utcnow
from libs.events.contracts import (
    TRAINING_COMPLETED,
    TRAINING_ENROLLED,
    PersonErased,
    PersonPayload,
    PlacementConfirmed,
    TrainingCompleted,
    TrainingEnrolled,
)
from libs.events.envelope import new_event
from libs.events.outbox import add_event
from libs.events.projection import Projection
from services.training import repository
from services.training.models import (
    Enrolment,
    ErasedPerson,
    Person,
    Placement,
    Programme,
    TrainingBase,
    platform,
)
from services.training.schemas import (
    Completion,
    EnrolmentCreate,
    Outcomes,
    ProgrammeCreate,
    TrainingBaseCreate,
)

SERVICE = "training"
READERS = (Role.admin, Role.partner, Role.station, Role.training)


# --- scope --------------------------------------------------------------------------------------------------


def can_read_base(caller: Principal, base_id: str) -> bool:
    if caller.role is Role.training:
        return caller.base_id == base_id
    return caller.role in (Role.admin, Role.partner, Role.station)


def can_manage_base(caller: Principal, base: TrainingBase) -> bool:
    if caller.role is Role.partner:
        return base.province_code in caller.provinces
    return caller.is_admin or (caller.role is Role.training and caller.base_id == base.id)


def can_reach_person(caller: Principal, person: Person) -> bool:
    """The person is one of the caller's own workers (station, partner) or the caller is admin."""
    if caller.role is Role.station:
        return caller.station_id == person.station_id
    if caller.role is Role.partner:
        return person.province_code in caller.provinces
    return caller.is_admin


def can_read_enrolment(caller: Principal, enrolment: Enrolment, person: Person | None) -> bool:
    if caller.role is Role.training:
        return caller.base_id == enrolment.base_id
    if caller.is_admin:
        return True
    return person is not None and can_reach_person(caller, person)


def enrolment_scope(caller: Principal) -> repository.EnrolmentScope:
    if caller.role is Role.training:
        return repository.EnrolmentScope(base_id=caller.base_id)
    if caller.role is Role.station:
        return repository.EnrolmentScope(station_id=caller.station_id)
    if caller.role is Role.partner:
        return repository.EnrolmentScope(provinces=caller.provinces)
    return repository.EnrolmentScope()


# --- bases --------------------------------------------------------------------------------------------------


async def create_base(session: AsyncSession, caller: Principal, data: TrainingBaseCreate) -> TrainingBase:
    require_role(caller, Role.admin, Role.partner)
    if caller.role is Role.partner and data.province_code not in caller.provinces:
        raise Problem(
            403,
            "只能在本方省份内设立培训基地",
            errors=[FieldError("body.province_code", "out_of_scope", "该省份不在您的权限范围内")],
        )
    base = TrainingBase(id=str(uuid.uuid4()), created_at=utcnow(), **data.model_dump())
    session.add(base)
    await session.flush()
    return base


async def base_in_scope(session: AsyncSession, caller: Principal, base_id: str) -> TrainingBase:
    require_role(caller, *READERS)
    base = await repository.get_base(session, base_id)
    if base is None or not can_read_base(caller, base.id):
        raise not_found("培训基地")
    return base


async def list_bases(
    session: AsyncSession,
    caller: Principal,
    *,
    province_code: str | None,
    after: repository.TimeId | None,
    limit: int,
) -> Sequence[TrainingBase]:
    require_role(caller, *READERS)
    only = caller.base_id if caller.role is Role.training else None
    return await repository.list_bases(
        session, province_code=province_code, only_id=only, after=after, limit=limit
    )


# --- programmes ---------------------------------------------------------------------------------------------


async def create_programme(session: AsyncSession, caller: Principal, data: ProgrammeCreate) -> Programme:
    require_role(caller, Role.admin, Role.partner, Role.training)
    base = await repository.get_base(session, data.base_id)
    if base is None or not can_manage_base(caller, base):
        problem = not_found("培训基地")
        problem.errors = [FieldError("body.base_id", "not_found", "培训基地不存在或不在您的权限范围内")]
        raise problem
    if data.order is not None and data.order.committed_hires > data.capacity:
        raise validation_problem(
            "body.order.committed_hires", "exceeds_capacity", "承诺录用人数不能超过培训名额 capacity"
        )
    order = data.order
    programme = Programme(
        id=str(uuid.uuid4()),
        base_id=base.id,
        title=data.title,
        occupation_code=data.occupation_code,
        skills=list(data.skills),
        capacity=data.capacity,
        seats_taken=0,
        starts_on=data.starts_on,
        ends_on=data.ends_on,
        order_employer_id=order.employer_id if order else None,
        order_job_ids=list(order.job_ids) if order else [],
        committed_hires=order.committed_hires if order else None,
        created_at=utcnow(),
    )
    session.add(programme)
    await session.flush()
    return programme


async def programme_in_scope(session: AsyncSession, caller: Principal, programme_id: str) -> Programme:
    require_role(caller, *READERS)
    programme = await repository.get_programme(session, programme_id)
    if programme is None or not can_read_base(caller, programme.base_id):
        raise not_found("培训班")
    return programme


async def list_programmes(
    session: AsyncSession,
    caller: Principal,
    *,
    base_id: str | None,
    after: repository.TimeId | None,
    limit: int,
) -> Sequence[Programme]:
    require_role(caller, *READERS)
    base_ids: list[str] | None = [base_id] if base_id else None
    if caller.role is Role.training:
        base_ids = [caller.base_id] if base_id in (None, caller.base_id) and caller.base_id else []
    return await repository.list_programmes(session, base_ids=base_ids, after=after, limit=limit)


async def outcomes(session: AsyncSession, caller: Principal, programme_id: str) -> Outcomes:
    programme = await programme_in_scope(session, caller, programme_id)
    enrolled, completed, employed = await repository.outcome_counts(session, programme.id)
    return Outcomes(
        programme_id=programme.id,
        enrolled=enrolled,
        completed=completed,
        employed_after=employed,
        employment_rate=round(employed / completed, 4) if completed else None,
    )


# --- enrolments ---------------------------------------------------------------------------------------------


def _unknown_person() -> Problem:
    return validation_problem("body.person_id", "unknown_person", "人员不存在、已删除或不在您的权限范围内")


async def enrol(
    session: AsyncSession, caller: Principal, programme_id: str, data: EnrolmentCreate
) -> Enrolment:
    """One seat per person, never more people than seats, even with many stations enrolling at once."""
    programme = await programme_in_scope(session, caller, programme_id)
    person = await repository.get_person(session, data.person_id)
    # A training base enrols anyone known for its own programmes; the others only their own workers.
    if person is None or (caller.role is not Role.training and not can_reach_person(caller, person)):
        raise _unknown_person()
    if programme.ends_on < beijing_date():
        raise Problem(
            409, "培训班已结束，不能再报名", slug="programme-ended", ends_on=programme.ends_on.isoformat()
        )
    duplicate = await repository.enrolment_of(session, programme.id, person.id)
    if duplicate is not None:
        raise _duplicate(duplicate.id)
    if not await repository.take_seat(session, programme.id):
        raise Problem(409, "培训班名额已满", slug="programme-full", capacity=programme.capacity)
    enrolment = Enrolment(
        id=str(uuid.uuid4()),
        programme_id=programme.id,
        base_id=programme.base_id,
        person_id=person.id,
        status="enrolled",
        created_at=utcnow(),
    )
    session.add(enrolment)
    try:
        await session.flush()
    except IntegrityError as error:  # the same person enrolled concurrently; the seat goes back on rollback
        raise _duplicate(None) from error
    enrolled = TrainingEnrolled(
        enrolment_id=enrolment.id,
        programme_id=programme.id,
        base_id=programme.base_id,
        person_id=person.id,
        enrolled_on=beijing_date(),
        order_employer_id=programme.order_employer_id,
    )
    event = new_event(SERVICE, TRAINING_ENROLLED, enrolment.id, enrolled.model_dump(mode="json"))
    await add_event(session, platform.outbox, event)
    return enrolment


def _duplicate(existing_id: str | None) -> Problem:
    problem = Problem(
        409,
        "此人已报名该培训班",
        slug="already-enrolled",
        errors=[FieldError("body.person_id", "duplicate", "此人已报名该培训班")],
    )
    if existing_id is not None:
        problem.extra["existing_id"] = existing_id
    return problem


async def enrolment_in_scope(
    session: AsyncSession, caller: Principal, enrolment_id: str, *, for_update: bool = False
) -> Enrolment:
    require_role(caller, *READERS)
    enrolment = await repository.get_enrolment(session, enrolment_id, for_update=for_update)
    person = None
    if enrolment is not None and enrolment.person_id is not None:
        person = await repository.get_person(session, enrolment.person_id)
    if enrolment is None or not can_read_enrolment(caller, enrolment, person):
        raise not_found("报名记录")
    return enrolment


async def list_enrolments(
    session: AsyncSession,
    caller: Principal,
    *,
    programme_id: str | None,
    person_id: str | None,
    status: str | None,
    after: repository.TimeId | None,
    limit: int,
) -> Sequence[Enrolment]:
    require_role(caller, *READERS)
    return await repository.list_enrolments(
        session,
        enrolment_scope(caller),
        programme_id=programme_id,
        person_id=person_id,
        status=status,
        after=after,
        limit=limit,
    )


async def complete(
    session: AsyncSession, caller: Principal, enrolment_id: str, data: Completion
) -> Enrolment:
    """Mark completed and tell the others (demand, matching) in the same transaction."""
    enrolment = await enrolment_in_scope(session, caller, enrolment_id, for_update=True)
    if not (caller.is_admin or (caller.role is Role.training and caller.base_id == enrolment.base_id)):
        raise Problem(403, "只有本培训基地或管理员可以登记结业")
    if enrolment.status == "completed":
        raise Problem(
            409, "该报名已登记结业", slug="already-completed", completed_on=str(enrolment.completed_on)
        )
    if enrolment.person_id is None:
        raise Problem(409, "该人员的个人信息已删除，不能再登记结业", slug="person-erased")
    programme = await repository.get_programme(session, enrolment.programme_id)
    assert programme is not None  # foreign key
    completed_on = data.completed_on or beijing_date()
    if completed_on > beijing_date():
        raise validation_problem("body.completed_on", "in_future", "结业日期不能晚于今天")
    if completed_on < programme.starts_on:
        raise validation_problem("body.completed_on", "before_start", "结业日期不能早于开班日期 starts_on")
    enrolment.status = "completed"
    enrolment.certificate = data.certificate
    enrolment.completed_on = completed_on
    enrolment.completed_at = utcnow()
    # A placement may have been confirmed before the completion was recorded.
    enrolment.employed_on = await repository.first_start_on_or_after(
        session, enrolment.person_id, completed_on
    )
    await session.flush()
    payload = TrainingCompleted(
        enrolment_id=enrolment.id,
        programme_id=programme.id,
        base_id=programme.base_id,
        person_id=enrolment.person_id,
        occupation_code=programme.occupation_code,
        skills=list(programme.skills),
        certificate=enrolment.certificate,
        completed_on=completed_on,
        enrolled_on=beijing_date(enrolment.created_at),
        order_employer_id=programme.order_employer_id,
    )
    event = new_event(SERVICE, TRAINING_COMPLETED, enrolment.id, payload.model_dump(mode="json"))
    await add_event(session, platform.outbox, event)
    return enrolment


# --- read models (consumers) --------------------------------------------------------------------------------


PERSONS = Projection[PersonPayload, Person](
    Person,
    lambda person: {
        "station_id": person.station_id,
        "province_code": person.province_code,
        "updated_at": utcnow(),
    },
)


async def apply_person(session: AsyncSession, person: PersonPayload) -> None:
    """An erased person's row is deleted and their id kept apart (`ErasedPerson`): it never comes back."""
    if await repository.is_erased(session, person.id):
        return
    await PERSONS.apply(session, person)


async def erase_person(session: AsyncSession, erased: PersonErased) -> None:
    """Drop the person and their placements; their enrolments stay, counted but linked to no one."""
    await repository.delete_person(session, erased.id)
    await repository.delete_placements(session, erased.id)
    await repository.anonymise_enrolments(session, erased.id)
    if not await repository.is_erased(session, erased.id):
        session.add(ErasedPerson(id=erased.id, erased_at=erased.erased_at))
    await session.flush()


async def record_placement(session: AsyncSession, placement: PlacementConfirmed) -> None:
    if await repository.is_erased(session, placement.person_id):
        return
    if await repository.get_placement(session, placement.placement_id) is not None:
        return
    session.add(
        Placement(
            placement_id=placement.placement_id,
            person_id=placement.person_id,
            job_id=placement.job_id,
            start_date=placement.start_date,
            recorded_at=utcnow(),
        )
    )
    await session.flush()
    await repository.mark_employed(session, placement.person_id, placement.start_date)
