"""Assessing occasions against the catalogue and keeping the claims that result, with their history.

Called by the consumers when a fact changes (a placement confirmed or ended, a training completed, a worker's
categories changed) and by the sweep when an occasion's day to look again has come. Each call assesses one
occasion against every item of its kind and settles each (item, beneficiary) claim: found, its facts changed,
withdrawn (the facts no longer meet it), or restored. Officers' work on a claim is never undone here: a claim
applied for, granted or refused keeps its status, and a change of facts under it is written to its history."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import structlog
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from libs.aio import raise_if_cancelling
from libs.db import beijing_date, utcnow
from libs.events.contracts import ELIGIBILITY_CHANGED, EligibilityChanged
from libs.events.envelope import new_event
from libs.events.outbox import add_event
from services.policy import rules
from services.policy.eligibility import assess, repository
from services.policy.eligibility.assess import Course, Found, Hire, Item, Job, WorkerFacts
from services.policy.eligibility.models import (
    Eligibility,
    EligibilityChange,
    Employer,
    EmployerYear,
    Placement,
    Station,
    Training,
    Worker,
)
from services.policy.models import PolicyRow, platform
from services.policy.schemas import PolicyItem

SERVICE = "policy"
SYSTEM = "system"  # who changed a claim when nobody did: the facts did
OPEN = ("eligible", "notified")  # claims the facts may still withdraw
log = structlog.get_logger("ew.policy")


@dataclass(frozen=True)
class Scope:
    """Where a claim belongs, for who may see it: the worker's station and province, the Jiangsu city, the
    employer, the training base."""

    person_id: str | None = None
    station_id: str | None = None
    province_code: str | None = None
    city_code: str | None = None
    employer_id: str | None = None
    base_id: str | None = None


# The parsed catalogue by database and revision, then by kind of occasion.
_CATALOGUE: dict[tuple[str, int], dict[str, list[tuple[Item, PolicyItem]]]] = {}


async def catalogue(session: AsyncSession, occasion: str, revision: int) -> list[tuple[Item, PolicyItem]]:
    """The items of one kind of occasion at a catalogue revision, read and parsed once per revision (a change
    writes a version, so the revision tells a stale copy; each replica keeps its own)."""
    bind = session.bind
    key = (str(bind.url if isinstance(bind, AsyncEngine) else bind.engine.url), revision)
    if key not in _CATALOGUE:
        parsed: dict[str, list[tuple[Item, PolicyItem]]] = {}
        for row in await repository.items_of(session, None):
            policy = PolicyItem.model_validate(row.item)
            item = Item(
                row.code, row.version, policy.occasion, policy.condition, policy.valid_from, policy.valid_to
            )
            parsed.setdefault(policy.occasion, []).append((item, policy))
        for old in [old for old in _CATALOGUE if old[0] == key[0]]:
            del _CATALOGUE[old]
        _CATALOGUE[key] = parsed
    return _CATALOGUE[key].get(occasion, [])


async def worker_facts(session: AsyncSession, person_id: str) -> tuple[Worker, WorkerFacts] | None:
    worker = await session.get(Worker, person_id)
    if worker is None or worker.erased:
        return None
    station = await session.get(Station, worker.station_id)
    facts = WorkerFacts(
        categories=tuple(worker.categories),
        key_region=worker.key_region,
        province_code=worker.province_code,
        county_code=station.county_code if station else "",
        age=worker.age,
    )
    return worker, facts


async def lock_worker(session: AsyncSession, person_id: str) -> None:
    """Events about one worker apply one after the other: each handler that assesses a worker's occasions takes
    the worker's row lock first, so it sees what the other committed (a placement and a completion handled at
    once by two consumers would each miss the other's row). A worker not known yet has no row to lock: the
    sweep looks again at what was assessed without them (assessing._without_worker)."""
    await session.execute(select(Worker.id).where(Worker.id == person_id).with_for_update())


async def _without_worker(
    session: AsyncSession, person_id: str, recheck_on: date | None, today: date
) -> date | None:
    """When to look again at an occasion whose worker policy does not know: never if they were erased; else
    soon. The worker's event assesses their occasions, but a placement and the worker's registration handled
    at the same moment by two consumers do not see each other's rows; the sweep closes that gap (the same day
    the first time, then daily)."""
    worker = await session.get(Worker, person_id)
    if worker is not None and worker.erased:
        return None
    return today if recheck_on is None or recheck_on > today else today + timedelta(days=1)


async def job_of(session: AsyncSession, placement: Placement, worker: Worker) -> Job:
    employer = await session.get(Employer, placement.employer_id) if placement.employer_id else None
    city = placement.city_code or (employer.city_code if employer else None)
    return Job(
        id=placement.id,
        employer_id=placement.employer_id,
        city_code=city,
        agency_id=placement.agency_id,
        started_on=placement.started_on,
        ended_on=placement.ended_on,
        # Every job on the platform is in Jiangsu ("32") unless its city says otherwise.
        cross_province=(city or "32")[:2] != worker.province_code,
        assistance_base=employer.assistance_base if employer else False,
        caring=employer.caring if employer else False,
    )


def course_of(training: Training) -> Course:
    return Course(training.id, training.enrolled_on, training.completed_on, training.order_employer_id)


# --- the three kinds of occasion ---------------------------------------------------------------------------


async def assess_placement(session: AsyncSession, placement: Placement, today: date) -> None:
    # The catalogue's revision is read before its items: a change committed in between is assessed again.
    revision = placement.revision = await repository.revision(session)
    known = await worker_facts(session, placement.person_id)
    if known is None:
        placement.recheck_on = await _without_worker(
            session, placement.person_id, placement.recheck_on, today
        )
        return
    worker, facts = known
    job = await job_of(session, placement, worker)
    courses = [course_of(row) for row in await repository.trainings_of(session, placement.person_id)]
    items = await catalogue(session, "placement", revision)
    milestones, placement.recheck_on = assess.placement_milestones(job, [item for item, _ in items], today)
    scope = Scope(
        person_id=placement.person_id,
        station_id=worker.station_id,
        province_code=worker.province_code,
        city_code=job.city_code,
        employer_id=placement.employer_id,
    )
    beneficiaries = {
        "worker": placement.person_id,
        "employer": placement.employer_id,
        "agency": placement.agency_id,
    }
    by_day = assess.FactsByDay(lambda day: assess.placement_facts(facts, job, courses, day))
    claims = await _claims(session, placement.id)
    for item, policy in items:
        found = _first_met(item, milestones, by_day)
        await settle(
            session, claims, item, policy, placement.id, beneficiaries.get(policy.beneficiary), found, scope
        )


async def assess_training(session: AsyncSession, training: Training, today: date) -> None:
    revision = training.revision = await repository.revision(session)
    known = await worker_facts(session, training.person_id)
    if known is None:
        training.recheck_on = await _without_worker(session, training.person_id, training.recheck_on, today)
        return
    worker, facts = known
    jobs = [
        await job_of(session, row, worker)
        for row in await repository.placements_of(session, training.person_id)
    ]
    course = course_of(training)
    items = await catalogue(session, "training", revision)
    milestones, training.recheck_on = assess.training_milestones(
        course, jobs, [item for item, _ in items], today
    )
    scope = Scope(
        person_id=training.person_id,
        station_id=worker.station_id,
        province_code=worker.province_code,
        base_id=training.base_id,
    )
    beneficiaries = {"worker": training.person_id, "training_base": training.base_id}
    by_day = assess.FactsByDay(lambda day: assess.training_facts(facts, course, jobs, day))
    claims = await _claims(session, training.id)
    for item, policy in items:
        found = _first_met(item, milestones, by_day)
        await settle(
            session, claims, item, policy, training.id, beneficiaries.get(policy.beneficiary), found, scope
        )


async def assess_year(session: AsyncSession, year_row: EmployerYear, today: date) -> None:
    revision = year_row.revision = await repository.revision(session)
    employer = await session.get(Employer, year_row.employer_id)
    hires = [
        Hire(
            started,
            ended,
            tuple(categories),
            (city or (employer.city_code if employer else "32"))[:2] != origin,
        )
        for started, ended, city, categories, origin in await repository.hires_in_year(
            session, year_row.employer_id, year_row.year
        )
    ]
    items = await catalogue(session, "employer_year", revision)
    milestones, year_row.recheck_on = assess.year_milestones(
        year_row.year, hires, [i for i, _ in items], today
    )
    base, caring = (employer.assistance_base, employer.caring) if employer else (False, False)
    scope = Scope(employer_id=year_row.employer_id, city_code=employer.city_code if employer else None)
    occasion_id = f"{year_row.employer_id}:{year_row.year}"
    by_day = assess.FactsByDay(lambda day: assess.year_facts(base, caring, year_row.year, hires, day))
    claims = await _claims(session, occasion_id)
    for item, policy in items:
        found = _first_met(item, milestones, by_day)
        beneficiary = year_row.employer_id if policy.beneficiary == "employer" else None
        await settle(session, claims, item, policy, occasion_id, beneficiary, found, scope)


async def assess_person(session: AsyncSession, person_id: str, today: date) -> None:
    """Everything a worker's facts decide: their placements, their trainings, and their employers' years."""
    placements = await repository.placements_of(session, person_id)
    for placement in placements:
        await assess_placement(session, placement, today)
    for training in await repository.trainings_of(session, person_id):
        await assess_training(session, training, today)
    for employer_id, year in sorted(
        {(p.employer_id, p.started_on.year) for p in placements if p.employer_id}
    ):
        await year_due(session, employer_id, year, today)


async def year_due(session: AsyncSession, employer_id: str, year: int, today: date) -> None:
    """An employer's year to be assessed by the next sweep, not now: it reads every hire of the year, and a
    large employer's placements arriving one by one would each read them all again."""
    row = await session.get(EmployerYear, (employer_id, year))
    if row is None:
        session.add(EmployerYear(employer_id=employer_id, year=year, recheck_on=today, revision=0))
        await session.flush()
    elif row.recheck_on is None or row.recheck_on > today:
        row.recheck_on = today


def _first_met(item: Item, milestones: Sequence[date], facts: assess.FactsByDay) -> Found | None:
    """The claim's day, or None; a condition that fails on these facts is logged, never guessed."""
    try:
        return assess.first_met(item, milestones, facts)
    except rules.ConditionError as error:  # an item saved before the vocabulary changed
        log.warning("policy.condition_failed", policy=item.code, error=str(error))
        return None


# --- claims ------------------------------------------------------------------------------------------------


async def _claims(session: AsyncSession, occasion_id: str) -> dict[tuple[str, str], Eligibility]:
    """An occasion's claims, read once for all its items: by (item, beneficiary)."""
    return {
        (claim.policy_code, claim.beneficiary_id): claim
        for claim in await repository.claims_of_occasion(session, occasion_id)
    }


async def settle(
    session: AsyncSession,
    claims: dict[tuple[str, str], Eligibility],
    item: Item,
    policy: PolicyItem,
    occasion_id: str,
    beneficiary_id: str | None,
    found: Found | None,
    scope: Scope,
) -> None:
    """One claim brought in line with what the assessment found. Claims an officer has taken up (applied for,
    granted, refused) keep their status and facts: the decision was made on them."""
    if beneficiary_id is None:
        return  # the occasion has no such beneficiary (a placement no agency brought)
    claim = claims.get((item.code, beneficiary_id))
    if found is None:
        if claim is not None and claim.status in OPEN:
            await change(session, claim, "withdrawn", "withdrawn", SYSTEM, note="条件不再满足")
        return
    if claim is None:
        claim = Eligibility(
            id=str(uuid.uuid4()),
            version=0,
            policy_code=item.code,
            policy_version=item.version,
            occasion=policy.occasion,
            occasion_id=occasion_id,
            beneficiary=policy.beneficiary,
            beneficiary_id=beneficiary_id,
            period_key=period_key(policy, occasion_id, found.on),
            eligible_on=found.on,
            facts=found.facts,
            status="eligible",
            **scope.__dict__,
        )
        session.add(claim)
        await change(session, claim, "eligible", "found", SYSTEM, facts=found.facts)
        return
    moved = claim.eligible_on != found.on or claim.facts != found.facts
    claim.policy_version = item.version
    for name, value in scope.__dict__.items():
        setattr(claim, name, value)
    if claim.status == "withdrawn":
        _refresh(claim, policy, occasion_id, found)
        await change(session, claim, "eligible", "restored", SYSTEM, facts=found.facts)
    elif moved and claim.status in OPEN:
        _refresh(claim, policy, occasion_id, found)
        await change(session, claim, claim.status, "facts", SYSTEM, facts=found.facts)


def _refresh(claim: Eligibility, policy: PolicyItem, occasion_id: str, found: Found) -> None:
    claim.eligible_on = found.on
    claim.facts = found.facts
    claim.period_key = period_key(policy, occasion_id, found.on)


def claim_payload(claim: Eligibility, policy_name: str) -> EligibilityChanged:
    """What the event says of a claim; monitoring's rebuild says it again from the kept row."""
    return EligibilityChanged(
        id=claim.id,
        version=claim.version,
        policy_code=claim.policy_code,
        policy_name=policy_name,
        beneficiary=claim.beneficiary,
        status=claim.status,
        eligible_on=claim.eligible_on,
        person_id=claim.person_id,
        station_id=claim.station_id,
        province_code=claim.province_code,
        city_code=claim.city_code,
        employer_id=claim.employer_id,
        amount=claim.amount,
        granted_on=claim.granted_on,
    )


async def policy_name(session: AsyncSession, code: str) -> str:
    row = await session.get(PolicyRow, code)
    return str(row.item["name"]) if row is not None else code


def period_key(policy: PolicyItem, occasion_id: str, on: date) -> str:
    """What "the same period" means for the item: ever, the calendar year the claim arose, or the occasion."""
    return {"once": "once", "year": str(on.year), "occasion": occasion_id}[policy.period]


async def change(
    session: AsyncSession,
    claim: Eligibility,
    status: str,
    what: str,
    by: str,
    *,
    note: str | None = None,
    facts: dict[str, Any] | None = None,
) -> None:
    """A step of the claim's history, and the event that tells the figures where the claim stands."""
    now = utcnow()
    claim.status = status
    claim.version += 1
    claim.updated_at = now
    await session.flush()
    session.add(
        EligibilityChange(
            eligibility_id=claim.id, status=status, what=what, by=by, at=now, note=note, facts=facts
        )
    )
    payload = claim_payload(claim, await policy_name(session, claim.policy_code))
    await add_event(
        session,
        platform.outbox,
        new_event(SERVICE, ELIGIBILITY_CHANGED, claim.id, payload.model_dump(mode="json")),
    )


# --- the sweep ----------------------------------------------------------------------------------------------


async def sweep(session: AsyncSession, today: date, batch: int) -> int:
    """One batch of the occasions whose day to look again has come; how many were assessed."""
    done = 0
    current = await repository.revision(session)
    for placement in await repository.due(session, Placement, today, current, batch):
        await lock_worker(session, placement.person_id)
        await assess_placement(session, placement, today)
        done += 1
    for training in await repository.due(session, Training, today, current, batch):
        await lock_worker(session, training.person_id)
        await assess_training(session, training, today)
        done += 1
    for year in await repository.due(session, EmployerYear, today, current, batch):
        await assess_year(session, year, today)
        done += 1
    return done


async def run_sweep(
    sessions: async_sessionmaker[AsyncSession], every_seconds: float, batch: int = 200
) -> None:
    """Looks every `every_seconds` for occasions whose day has come (a month more employed, an item coming
    into force, the catalogue changed) and assesses them a batch per transaction, until none is left."""
    while True:
        try:
            while True:
                async with sessions.begin() as session:
                    done = await sweep(session, beijing_date(), batch)
                if done < batch:
                    break
        except asyncio.CancelledError:
            raise
        except Exception as error:  # the database away for a moment: look again next time
            raise_if_cancelling(error)
            log.warning("policy.sweep_failed", error=f"{type(error).__name__}: {error}")
        await asyncio.sleep(every_seconds)
