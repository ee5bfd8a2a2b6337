"""Follow-up visits: scheduled by placements, listed per station, recorded with their consequences."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import date
from typing import cast

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from libs.api.problems import Problem, not_found
from libs.auth import Principal
from libs.db import beijing_date, months_after, utcnow
from libs.events.contracts import FOLLOW_UP_RECORDED, FollowUpRecorded, PlacementConfirmed
from libs.events.envelope import new_event
from libs.events.outbox import add_event
from libs.pii import PiiVault
from services.demand import repository
from services.demand.follow_ups.schemas import FollowUpIn, FollowUpOut, FollowUpState
from services.demand.models import FollowUp, platform
from services.demand.schemas import StatusChangeIn
from services.demand.service import SERVICE, change_status, in_scope, raise_warning, read_scope


async def schedule(session: AsyncSession, placement: PlacementConfirmed, months: Sequence[int]) -> int:
    """A visit at each of `months` after the start, for a worker demand knows; again for the same placement: none."""
    person = await repository.get_person(session, placement.person_id)
    if person is None or person.erased_at is not None:
        return 0
    created = 0
    for month in sorted(set(months)):
        try:
            async with session.begin_nested():
                session.add(
                    FollowUp(
                        id=str(uuid.uuid4()),
                        placement_id=placement.placement_id,
                        person_id=person.id,
                        station_id=person.station_id,
                        province_code=person.province_code,
                        job_id=placement.job_id,
                        employer_id=placement.employer_id,
                        start_date=placement.start_date,
                        months=month,
                        due_on=months_after(placement.start_date, month),
                        status="due",
                        created_at=utcnow(),
                    )
                )
                await session.flush()
            created += 1
        except IntegrityError:  # this placement's visit for that month exists (a redelivered event)
            continue
    return created


async def cancel(session: AsyncSession, placement_id: str) -> None:
    """The placement ended: the visits still due are not made."""
    await repository.cancel_follow_ups(session, FollowUp.placement_id == placement_id)


def state_of(visit: FollowUp, today: date) -> FollowUpState:
    """The stored status (due, done, cancelled), with a due visit past its day shown as overdue."""
    if visit.status == "due" and visit.due_on < today:
        return "overdue"
    return cast(FollowUpState, visit.status)


def view(vault: PiiVault, visit: FollowUp, today: date) -> FollowUpOut:
    return FollowUpOut(
        id=visit.id,
        placement_id=visit.placement_id,
        person_id=visit.person_id,
        station_id=visit.station_id,
        job_id=visit.job_id,
        start_date=visit.start_date,
        months=visit.months,
        due_on=visit.due_on,
        state=state_of(visit, today),
        visited_on=visit.visited_on,
        still_employed=visit.still_employed,
        contract_signed=visit.contract_signed,
        insurance_paid=visit.insurance_paid,
        wages_on_time=visit.wages_on_time,
        problem=vault.decrypt(visit.problem_encrypted, "note") if visit.problem_encrypted else None,
        recorded_at=visit.recorded_at,
    )


async def list_follow_ups(
    session: AsyncSession,
    caller: Principal,
    *,
    station_id: str | None,
    state: FollowUpState | None,
    due_to: date | None,
    after: tuple[date, str] | None,
    limit: int,
) -> list[FollowUp]:
    """The caller's visits, soonest due first: a station its own, a partner its provinces', an admin all."""
    scope = read_scope(caller)
    today = beijing_date()
    statuses, due_from, due_before = {
        "overdue": (["due"], None, today),
        "due": (["due"], today, None),
        "done": (["done"], None, None),
        "cancelled": (["cancelled"], None, None),
        None: (None, None, None),
    }[state]
    return list(
        await repository.list_follow_ups(
            session,
            scope,
            station_id=station_id,
            statuses=statuses,
            due_from=due_from,
            due_before=due_before,
            due_to=due_to,
            after=after,
            limit=limit,
        )
    )


async def follow_up_in_scope(session: AsyncSession, caller: Principal, follow_up_id: str) -> FollowUp:
    read_scope(caller)  # 403 for roles that never see workers
    visit = await session.get(FollowUp, follow_up_id, with_for_update=True)
    if visit is None or not in_scope(caller, visit.station_id, visit.province_code):
        raise not_found("回访")
    return visit


async def record(
    session: AsyncSession, vault: PiiVault, caller: Principal, follow_up_id: str, data: FollowUpIn
) -> FollowUp:
    """The visit and what follows from it: back to seeking when the worker left, warnings for a missing contract
    or wage arrears, and the flags in `follow_up.recorded`."""
    visit = await follow_up_in_scope(session, caller, follow_up_id)
    if visit.status != "due":
        state = "已回访" if visit.status == "done" else "已取消（已离岗）"
        raise Problem(
            409, f"该回访{state}，不能再次登记", slug="follow-up-closed", current_state=visit.status
        )
    visit.status = "done"
    visit.visited_on = data.visited_on
    visit.still_employed = data.still_employed
    visit.contract_signed = data.contract_signed
    visit.insurance_paid = data.insurance_paid
    visit.wages_on_time = data.wages_on_time
    visit.problem_encrypted = vault.encrypt(data.problem, "note") if data.problem else None
    visit.recorded_at = utcnow()
    await session.flush()
    person = await repository.get_person(session, visit.person_id, for_update=True)
    if person is not None and person.erased_at is None:
        if not data.still_employed:
            await cancel(session, visit.placement_id)
            if person.status == "employed":
                change = StatusChangeIn(status="seeking", since=data.visited_on, note=None)
                await change_status(
                    session, vault, person, change, source="follow_up", warning_kind="left_job"
                )
        for kind, answer in (("no_contract", data.contract_signed), ("wage_arrears", data.wages_on_time)):
            if answer is False:
                await raise_warning(session, person, kind)
    payload = recorded(visit)
    await add_event(
        session,
        platform.outbox,
        new_event(SERVICE, FOLLOW_UP_RECORDED, visit.id, payload.model_dump(mode="json")),
    )
    return visit


def recorded(visit: FollowUp) -> FollowUpRecorded:
    """A recorded visit as its event says it: the flags and the employer, never the words."""
    assert visit.visited_on is not None and visit.still_employed is not None
    return FollowUpRecorded(
        id=visit.id,
        placement_id=visit.placement_id,
        person_id=visit.person_id,
        station_id=visit.station_id,
        job_id=visit.job_id,
        employer_id=visit.employer_id,
        months=visit.months,
        visited_on=visit.visited_on,
        still_employed=visit.still_employed,
        contract_signed=visit.contract_signed,
        insurance_paid=visit.insurance_paid,
        wages_on_time=visit.wages_on_time,
    )
