"""The facts, kept from events: who is employed since when, where and how; placements, applications, warnings,
follow-up visits, trainings and seats. Every handler is idempotent (a repeated event changes nothing) and
tolerates order: a fact that arrives before what it refers to is kept with what is known, and completed when
the rest arrives (a station's or a job's event fills in the columns copied from it)."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from datetime import date, timedelta
from typing import Any

from sqlalchemy import or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from libs.db import beijing_date, months_after
from libs.events.contracts import (
    ApplicationPayload,
    BookingPayload,
    EligibilityChanged,
    FollowUpRecorded,
    JobPayload,
    PersonErased,
    PersonPayload,
    PersonRecommended,
    PlacementConfirmed,
    PlacementEnded,
    StationPayload,
    TrainingCompleted,
    TrainingEnrolled,
    TripPayload,
    WarningPayload,
    WarningResolved,
)
from libs.events.projection import Projection
from libs.reference.regions import JIANGSU_CITIES
from services.monitoring.models import (
    STEPS,
    WITHIN,
    Application,
    Booking,
    FollowUp,
    Job,
    Placement,
    PolicyClaim,
    Recommendation,
    Spell,
    Station,
    Training,
    Trip,
    Warning,
    Worker,
    previous,
)

TRAINING_WINDOW_MONTHS = 6  # 培训后就业: employed within six months of completing

ORIGIN_FACTS = (Worker, Spell, Placement, Application, Warning, FollowUp, Training, Booking, Recommendation)

STATIONS = Projection[StationPayload, Station](
    Station,
    lambda station: {
        "name": station.name,
        "province_code": station.province_code,
        "city_code": station.city_code,
        "county_code": station.county_code,
    },
)

CLAIMS = Projection[EligibilityChanged, PolicyClaim](
    PolicyClaim,
    lambda claim: {
        "policy_code": claim.policy_code,
        "policy_name": claim.policy_name,
        "beneficiary": claim.beneficiary,
        "status": claim.status,
        "eligible_on": claim.eligible_on,
        "granted_on": claim.granted_on,
        "amount": claim.amount,
        "station_id": claim.station_id,
        "province_code": claim.province_code,
        "jiangsu_city_code": claim.city_code,
    },
)

JOBS = Projection[JobPayload, Job](
    Job,
    lambda job: {
        "employer_id": job.employer_id,
        "industry": job.industry,
        "occupation_code": job.occupation_code,
        "city_code": job.city_code,
    },
)


def occupation_group(occupation_code: str | None) -> str | None:
    """The 大典's major and minor group ("6-18" of "6-18-01-01"): fine enough to read, coarse enough to count."""
    return "-".join(occupation_code.split("-")[:2]) if occupation_code else None


def jiangsu_city(region_code: str | None) -> str | None:
    return region_code[:4] if region_code and region_code[:4] in JIANGSU_CITIES else None


def categories_column(categories: Sequence[str]) -> str:
    return "," + ",".join(sorted(categories)) + "," if categories else ""


# --- stations and jobs: the columns facts copy from them -----------------------------------------------------


async def apply_station(session: AsyncSession, payload: StationPayload) -> None:
    station = await STATIONS.apply(session, payload)
    if station is None:
        return
    place = {"city_code": station.city_code, "county_code": station.county_code}
    for model in ORIGIN_FACTS:
        await session.execute(update(model).where(model.station_id == station.id).values(**place))


async def apply_job(session: AsyncSession, payload: JobPayload) -> None:
    job = await JOBS.apply(session, payload)
    if job is None:
        return
    await session.execute(
        update(Spell)
        .where(Spell.job_id == job.id)
        .values(industry=job.industry, occupation_group=occupation_group(job.occupation_code))
    )
    city = jiangsu_city(job.city_code)
    moved = select(Application.person_id).where(
        Application.job_id == job.id, Application.jiangsu_city_code.is_distinct_from(city)
    )
    people = set((await session.scalars(moved)).all())
    await session.execute(
        update(Application).where(Application.job_id == job.id).values(jiangsu_city_code=city)
    )
    for person_id in sorted(people):  # their applications in that city are in another order now
        await _locked_worker(session, person_id)
        await settle_applications(session, person_id)


async def _origin(session: AsyncSession, station_id: str, province_code: str) -> dict[str, str]:
    """A worker's scope columns; the city and county stay empty until the station's event arrives."""
    station = await session.get(Station, station_id)
    return {
        "station_id": station_id,
        "province_code": province_code,
        "city_code": station.city_code if station else "",
        "county_code": station.county_code if station else "",
    }


async def _locked_worker(session: AsyncSession, person_id: str) -> Worker | None:
    """The worker's row, locked until the transaction ends (on PostgreSQL; SQLite has one writer at a time).
    Every handler that settles a worker's facts, or copies them onto a new one, takes it first: two events about
    one worker, handled at once by different consumers, then apply one after the other, the second seeing the
    first's rows."""
    return await session.get(Worker, person_id, with_for_update=True, populate_existing=True)


async def _worked_in(session: AsyncSession, person_id: str) -> str:
    """The worker's Jiangsu cities, for a new fact kept per worker."""
    worker = await _locked_worker(session, person_id)
    return worker.jiangsu_cities or "" if worker else ""


async def _worker_origin(session: AsyncSession, person_id: str, station_id: str | None) -> dict[str, str]:
    """The scope columns of a fact about a worker: the worker's, else their station's. Neither known yet: the
    consumer retries (the worker's registration is on its way)."""
    worker = await session.get(Worker, person_id)
    if worker is not None:
        return {
            name: getattr(worker, name)
            for name in ("station_id", "province_code", "city_code", "county_code")
        }
    station = await session.get(Station, station_id) if station_id else None
    if station is None:
        raise LookupError(f"worker {person_id} not seen yet")
    return await _origin(session, station.id, station.province_code)


# --- workers and their employment spells ---------------------------------------------------------------------


def _employment(payload: PersonPayload) -> dict[str, Any] | None:
    if payload.status != "employed":
        return None
    return payload.employment.model_dump(mode="json") if payload.employment else {"how": "self_found"}


async def apply_person(session: AsyncSession, payload: PersonPayload) -> None:
    """A worker's newest version: their attributes and, when the status changed, their timeline from its day.

    A status holds from its `since` on, over whatever an earlier record said for those days: a station that
    records on the 20th that the worker has been unemployed since the 1st ends the spell on the 1st. So a change
    cuts every spell at its day (one that would start on or after it never was), then opens one if employed."""
    worker = await _locked_worker(session, payload.id)
    if worker is not None and (worker.erased or worker.version >= payload.version):
        return
    employment = _employment(payload)
    if worker is None:
        worker = Worker(
            id=payload.id,
            registered_on=beijing_date(payload.updated_at),
            status="new",
            status_since=payload.status_since,
            employment=None,
            erased=False,
            **await _origin(session, payload.station_id, payload.province_code),
        )
        session.add(worker)
    changed = (worker.status, worker.status_since, worker.employment) != (
        payload.status,
        payload.status_since,
        employment,
    )
    worker.version = payload.version
    worker.categories = categories_column(payload.categories)
    worker.key_region = payload.key_region
    worker.status = payload.status
    worker.status_since = payload.status_since
    worker.employment = employment
    if changed:
        await _cut_timeline(session, payload.id, payload.status_since, payload.status)
        if employment is not None:
            await _open_spell(session, worker, employment)
        await settle(session, payload.id)
    await session.flush()


async def _open_spell(session: AsyncSession, worker: Worker, employment: dict[str, Any]) -> None:
    region = employment.get("region_code")
    spell = Spell(
        id=str(uuid.uuid4()),
        person_id=worker.id,
        station_id=worker.station_id,
        province_code=worker.province_code,
        city_code=worker.city_code,
        county_code=worker.county_code,
        categories=worker.categories,
        key_region=worker.key_region,
        started_on=worker.status_since,
        how=employment["how"],
        where=employment.get("where"),
        region_code=region,
        jiangsu_city_code=jiangsu_city(region),
    )
    if spell.how == "placed":
        placement = await _latest_open_placement(session, worker.id)
        if placement is not None:
            await _link(session, spell, placement)
    session.add(spell)


async def _cut_timeline(session: AsyncSession, person_id: str, on: date, next_status: str) -> None:
    query = select(Spell).where(
        Spell.person_id == person_id, or_(Spell.ended_on.is_(None), Spell.ended_on > on)
    )
    for spell in (await session.scalars(query)).all():
        if spell.started_on >= on:
            await session.delete(spell)
        else:
            spell.ended_on, spell.ended_to = on, next_status
    await session.flush()


CHECKS = {"day90": "day90_on", "month3": "month3_on", "month6": "month6_on", "month12": "month12_on"}


async def settle(session: AsyncSession, person_id: str) -> None:
    """What a worker's timeline answers, kept on the facts when it changes (so a figure reads a column instead
    of searching each worker's spells): the days from each spell's end to the next job, each placement's
    checks employed or not and its place in the worker's placements, whether a job started within each
    completed training's window, and the Jiangsu cities the worker has worked in."""
    await session.flush()
    spells = (
        await session.scalars(select(Spell).where(Spell.person_id == person_id).order_by(Spell.started_on))
    ).all()
    for spell in spells:
        ended = spell.ended_on
        later = [other.started_on for other in spells if ended and other.started_on >= ended]
        spell.days_to_next_job = (min(later) - ended).days if later and ended else None
    placements = (await session.scalars(select(Placement).where(Placement.person_id == person_id))).all()
    for placement in placements:
        for check, day_column in CHECKS.items():
            day = getattr(placement, day_column)
            employed = any(
                other.started_on <= day and (other.ended_on is None or other.ended_on > day)
                for other in spells
            )
            setattr(placement, f"{check}_employed", employed)
    _chain(placements, "started_on", PLACEMENT_FIRSTS)
    trainings = (await session.scalars(select(Training).where(Training.person_id == person_id))).all()
    for training in trainings:
        start, end = training.completed_on, training.window_ends_on
        training.employed_in_window = bool(
            start and end and any(start <= other.started_on <= end for other in spells)
        )
    cities = {spell.jiangsu_city_code for spell in spells if spell.jiangsu_city_code}
    await _settle_cities(session, person_id, cities)
    await session.flush()


async def _settle_cities(session: AsyncSession, person_id: str, cities: set[str]) -> None:
    """The Jiangsu cities the worker has worked in, on the worker and the facts kept per worker."""
    worked_in = f",{','.join(sorted(cities))}," if cities else ""
    worker = await session.get(Worker, person_id)
    if worker is None or worker.jiangsu_cities == worked_in:
        return
    worker.jiangsu_cities = worked_in
    for model in (Warning, Training, Recommendation):
        await session.execute(
            update(model).where(model.person_id == person_id).values(jiangsu_cities=worked_in)
        )


# The funnel's workers (models.STEPS, models.WITHIN): each of a worker's rows keeps the day of the worker's
# previous row among those that count for a step, so the workers in a range are its rows first in it.
Counts = Callable[[Any], bool]
COUNTS: dict[str, Counts] = {  # the rows that count for each step
    "": lambda row: True,
    "offered_": lambda row: row.offered_on is not None,
    "accepted_": lambda row: row.accepted_on is not None,
    "kept_": lambda row: bool(row.day90_employed),
}


def _firsts(table: str) -> dict[str, tuple[Counts, tuple[str, ...]]]:
    """Each column: (the rows that count, the columns a previous row must share)."""
    return {
        previous(step, within): (COUNTS[step], same)
        for within, same in WITHIN.items()
        for step in STEPS[table]
    }


APPLICATION_FIRSTS = _firsts("applications")
PLACEMENT_FIRSTS = _firsts("placements")
# a worker's recommendation days: any scope keeps all of them or none, so one chain serves every scope
RECOMMENDATION_FIRSTS: dict[str, tuple[Counts, tuple[str, ...]]] = {"previous_on": (COUNTS[""], ())}


def _chain(rows: Sequence[Any], day: str, firsts: dict[str, tuple[Counts, tuple[str, ...]]]) -> None:
    """In the order of (day, id), each counted row gets the day of the previous counted row (sharing the
    columns asked), None for the first; a row that does not count gets None."""
    ordered = sorted(rows, key=lambda row: (getattr(row, day), row.id))
    for column, (counts, same) in firsts.items():
        last: dict[tuple[Any, ...], date] = {}
        for row in ordered:
            key = tuple(getattr(row, name) for name in same)
            setattr(row, column, last.get(key) if counts(row) else None)
            if counts(row):
                last[key] = getattr(row, day)


async def settle_applications(session: AsyncSession, person_id: str) -> None:
    applications = (
        await session.scalars(select(Application).where(Application.person_id == person_id))
    ).all()
    _chain(applications, "submitted_on", APPLICATION_FIRSTS)
    await session.flush()


async def _open_spell_of(session: AsyncSession, person_id: str) -> Spell | None:
    query = select(Spell).where(Spell.person_id == person_id, Spell.ended_on.is_(None))
    return (await session.scalars(query.order_by(Spell.started_on.desc()))).first()


async def _latest_open_placement(session: AsyncSession, person_id: str) -> Placement | None:
    query = select(Placement).where(Placement.person_id == person_id, Placement.ended_on.is_(None))
    return (await session.scalars(query.order_by(Placement.started_on.desc()))).first()


async def _link(session: AsyncSession, spell: Spell, placement: Placement) -> None:
    """A placed spell takes its placement's employer, job, industry and Jiangsu city."""
    job = await session.get(Job, placement.job_id)
    spell.placement_id = placement.id
    spell.job_id = placement.job_id
    spell.employer_id = placement.employer_id
    spell.jiangsu_city_code = spell.jiangsu_city_code or placement.jiangsu_city_code
    if job is not None:
        spell.industry = job.industry
        spell.occupation_group = occupation_group(job.occupation_code)


async def erase_person(session: AsyncSession, erased: PersonErased) -> None:
    """The facts stay (they name nobody); the worker's later versions are ignored, and the visits not yet made
    will not be (demand cancels them)."""
    worker = await session.get(Worker, erased.id)
    if worker is not None:
        worker.erased = True
    await session.execute(
        update(FollowUp)
        .where(
            FollowUp.person_id == erased.id, FollowUp.visited_on.is_(None), FollowUp.cancelled_on.is_(None)
        )
        .values(cancelled_on=beijing_date(erased.erased_at))
    )


# --- placements and follow-up visits --------------------------------------------------------------------------


async def confirm_placement(
    session: AsyncSession, confirmed: PlacementConfirmed, visit_months: Sequence[int]
) -> None:
    if await session.get(Placement, confirmed.placement_id) is not None:
        return
    await _locked_worker(session, confirmed.person_id)
    origin = await _worker_origin(session, confirmed.person_id, confirmed.station_id)
    application = (
        await session.get(Application, confirmed.application_id) if confirmed.application_id else None
    )
    channel = application.channel if application else "livestream" if confirmed.stream_id else "station"
    placement = Placement(
        id=confirmed.placement_id,
        person_id=confirmed.person_id,
        job_id=confirmed.job_id,
        employer_id=confirmed.employer_id,
        jiangsu_city_code=jiangsu_city(confirmed.city_code),
        channel=channel,
        started_on=confirmed.start_date,
        cohort=confirmed.start_date.strftime("%Y-%m"),
        day90_on=confirmed.start_date + timedelta(days=90),
        month3_on=months_after(confirmed.start_date, 3),
        month6_on=months_after(confirmed.start_date, 6),
        month12_on=months_after(confirmed.start_date, 12),
        **origin,
    )
    session.add(placement)
    for months in sorted(set(visit_months)):
        session.add(
            FollowUp(
                id=f"{placement.id}:{months}",
                placement_id=placement.id,
                person_id=placement.person_id,
                jiangsu_city_code=placement.jiangsu_city_code,
                months=months,
                due_on=months_after(placement.started_on, months),
                **origin,
            )
        )
    spell = await _open_spell_of(session, confirmed.person_id)
    if spell is not None and spell.how == "placed" and spell.placement_id is None:
        await _link(session, spell, placement)
    await settle(session, confirmed.person_id)


async def end_placement(session: AsyncSession, ended: PlacementEnded) -> None:
    placement = await session.get(Placement, ended.placement_id)
    if placement is None or placement.ended_on is not None:
        return
    placement.ended_on = ended.ended_on
    placement.tenure_days = (ended.ended_on - placement.started_on).days
    await _cancel_visits(session, placement.id, ended.ended_on)


async def _cancel_visits(session: AsyncSession, placement_id: str, on: date) -> None:
    await session.execute(
        update(FollowUp)
        .where(
            FollowUp.placement_id == placement_id,
            FollowUp.visited_on.is_(None),
            FollowUp.cancelled_on.is_(None),
        )
        .values(cancelled_on=on)
    )


async def record_follow_up(session: AsyncSession, recorded: FollowUpRecorded) -> None:
    visit = await session.get(FollowUp, f"{recorded.placement_id}:{recorded.months}")
    if visit is None or visit.visited_on is not None:
        return
    visit.visited_on = recorded.visited_on
    visit.cancelled_on = None
    await session.flush()
    if not recorded.still_employed:
        await _cancel_visits(session, recorded.placement_id, recorded.visited_on)


# --- recommendations, applications, warnings, trainings, seats -------------------------------------------------


async def recommend(session: AsyncSession, told: PersonRecommended) -> None:
    await _locked_worker(session, told.person_id)
    key = f"{told.person_id}:{told.on.isoformat()}"
    if await session.get(Recommendation, key) is not None:
        return
    origin = await _worker_origin(session, told.person_id, told.station_id)
    session.add(
        Recommendation(
            id=key,
            person_id=told.person_id,
            recommended_on=told.on,
            jiangsu_cities=await _worked_in(session, told.person_id),
            **origin,
        )
    )
    await session.flush()
    days = (
        await session.scalars(select(Recommendation).where(Recommendation.person_id == told.person_id))
    ).all()
    _chain(days, "recommended_on", RECOMMENDATION_FIRSTS)
    await session.flush()


_APPLICATION_STEP = {"offered": "offered_on", "accepted": "accepted_on", "declined": "declined_on"}


async def apply_application(session: AsyncSession, payload: ApplicationPayload) -> None:
    await _locked_worker(session, payload.person_id)
    application = await session.get(Application, payload.id)
    on = beijing_date(payload.at)
    if application is None:
        origin = await _worker_origin(session, payload.person_id, payload.station_id)
        job = await session.get(Job, payload.job_id)
        application = Application(
            id=payload.id,
            person_id=payload.person_id,
            job_id=payload.job_id,
            jiangsu_city_code=jiangsu_city(job.city_code) if job else None,
            channel=payload.channel,
            submitted_on=on,
            **origin,
        )
        session.add(application)
    step = _APPLICATION_STEP.get(payload.status)
    if step is not None and getattr(application, step) is None:
        setattr(application, step, on)
    await session.flush()
    await settle_applications(session, application.person_id)


async def raise_warning(session: AsyncSession, payload: WarningPayload) -> None:
    if await session.get(Warning, payload.id) is not None:
        return
    origin = await _worker_origin(session, payload.person_id, payload.station_id)
    session.add(
        Warning(
            id=payload.id,
            person_id=payload.person_id,
            kind=payload.kind,
            raised_on=beijing_date(payload.raised_at),
            jiangsu_cities=await _worked_in(session, payload.person_id),
            **origin,
        )
    )
    await session.flush()


async def resolve_warning(session: AsyncSession, payload: WarningResolved) -> None:
    """A resolution before its warning (redelivery order) waits for it: the consumer retries."""
    warning = await session.get(Warning, payload.id)
    if warning is None:
        raise LookupError(f"warning {payload.id} not seen yet")
    warning.resolved_on = warning.resolved_on or beijing_date(payload.resolved_at)
    warning.days_to_resolve = (warning.resolved_on - warning.raised_on).days


async def enrol(session: AsyncSession, enrolled: TrainingEnrolled) -> None:
    if await session.get(Training, enrolled.enrolment_id) is not None:
        return
    await _add_training(session, enrolled.enrolment_id, enrolled, enrolled.enrolled_on)


async def complete_training(session: AsyncSession, completed: TrainingCompleted) -> None:
    await _locked_worker(session, completed.person_id)
    training = await session.get(Training, completed.enrolment_id)
    if training is None:
        training = await _add_training(session, completed.enrolment_id, completed, completed.completed_on)
    if training.completed_on is None:
        training.completed_on = completed.completed_on
        training.window_ends_on = months_after(completed.completed_on, TRAINING_WINDOW_MONTHS)
        await settle(session, training.person_id)


async def _add_training(
    session: AsyncSession, enrolment_id: str, event: TrainingEnrolled | TrainingCompleted, on: date
) -> Training:
    origin = await _worker_origin(session, event.person_id, None)
    training = Training(
        id=enrolment_id,
        person_id=event.person_id,
        base_id=event.base_id,
        programme_id=event.programme_id,
        enrolled_on=on,
        jiangsu_cities=await _worked_in(session, event.person_id),
        **origin,
    )
    session.add(training)
    await session.flush()
    return training


async def apply_trip(session: AsyncSession, payload: TripPayload) -> None:
    trip = await session.get(Trip, payload.id)
    if trip is None:
        station = await session.get(Station, payload.origin_station_id)
        trip = Trip(
            id=payload.id,
            origin_station_id=payload.origin_station_id,
            province_code=payload.origin_province_code if station is None else station.province_code,
        )
        session.add(trip)
    trip.status = "cancelled" if trip.status == "cancelled" else payload.status  # a cancellation is final
    trip.departs_on = beijing_date(payload.departs_at)
    trip.seats = payload.seats
    trip.seats_left = payload.seats_left
    trip.destinations = categories_column(payload.destination_city_codes)
    await session.flush()


async def apply_booking(session: AsyncSession, payload: BookingPayload) -> None:
    booking = await session.get(Booking, payload.id)
    if booking is None:
        origin = await _worker_origin(session, payload.person_id, payload.station_id)
        booking = Booking(
            id=payload.id,
            person_id=payload.person_id,
            jiangsu_city_code=payload.destination_city_code[:4],
            booked_on=beijing_date(payload.at),
            at=payload.at,
            **origin,
        )
        session.add(booking)
    elif booking.at > payload.at:
        return
    booking.at = payload.at
    booking.status = payload.status
    booking.trip_id = payload.trip_id
    booking.departs_on = beijing_date(payload.departs_at) if payload.departs_at else None
    await session.flush()


# --- policy claims --------------------------------------------------------------------------------------------


async def apply_claim(session: AsyncSession, payload: EligibilityChanged) -> None:
    await CLAIMS.apply(session, payload)
