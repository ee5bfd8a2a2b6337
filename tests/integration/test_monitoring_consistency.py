"""Numbers you can trust: after a random history (registrations, status changes, placements and their ends,
follow-up visits, an insurance import, resolved warnings, an erasure) every figure monitoring answers equals the
ground truth computed independently from the source services' own databases; and the facts rebuilt from those
databases (`eastwest monitoring rebuild`) answer the same figures again."""

from __future__ import annotations

import io
import itertools
import random
import statistics
from collections import Counter
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import openpyxl
import pytest
from sqlalchemy import select

from eastwest.monitoring_rebuild import rebuild
from libs.db import BEIJING, beijing_date, months_after
from libs.reference.regions import JIANGSU_CITIES
from services.demand.models import EarlyWarning, FollowUp, Person, StatusChange
from services.matching.models import Placement, Recommendation, WorkerView
from services.monitoring.service import month_bounds, month_end, shift_month
from services.supply.models import Job
from services.training.models import Enrolment
from tests.factories import person_body
from tests.harness import ADMIN, Platform, auth, eventually, known_to
from tests.harness import settled as harness_settled
from tests.integration.test_demand import new_station, register, station_token
from tests.integration.test_matching import new_employer, new_job
from tests.integration.test_training import base_body, programme_body

EMPLOYMENTS = [
    {"how": "self_found", "where": "jiangsu", "region_code": "3205"},
    {"how": "flexible", "where": "jiangsu", "region_code": "3206"},
    {"how": "self_employed", "where": "home_county", "region_code": "610102"},
    {"how": "public_welfare", "where": "home_county"},
]


async def settled(platform: Platform) -> bool:
    return await harness_settled(
        platform, ("stations", "demand", "supply", "matching", "training", "bus", "monitoring")
    )


@dataclass
class History:
    stations: list[str]
    today: date


async def make_history(platform: Platform, seed: int) -> History:
    rng = random.Random(seed)
    today = beijing_date()
    stations = [
        await new_station(platform, "61"),
        await new_station(platform, "61", name="江苏驻西安市新城区第二劳务联络站"),
        await new_station(platform, "52"),
    ]
    employer = await new_employer(platform)
    recruiter = auth("recruiter", employer_id=employer)
    job = await new_job(platform, employer, headcount=200)
    serial = 100
    workers: list[dict[str, Any]] = []
    serials: dict[str, int] = {}
    for station in stations:
        for _ in range(8):
            serial += 1
            workers.append(await register(platform, station, serial))
            serials[workers[-1]["id"]] = serial
    for worker in workers:  # the station looks at each worker's recommended jobs (kept when there are some)
        await known_to(platform, "matching", WorkerView, worker["id"], what="matching learns the worker")
        shown = await platform.client.get(
            f"/v1/persons/{worker['id']}/recommendations", headers=station_token(worker["station_id"])
        )
        assert shown.status_code == 200, shown.text
    placed: list[tuple[dict[str, Any], str, date]] = []
    starts: dict[str, date] = {}  # each worker's first job start, for training completed before it
    for worker in workers:
        token = station_token(worker["station_id"])
        day = today - timedelta(days=rng.randint(200, 330))
        for _ in range(rng.randint(0, 3)):
            status = rng.choice(["employed", "employed", "unemployed", "seeking"])
            body: dict[str, Any] = {"status": status, "since": day.isoformat()}
            if status == "employed":
                body["employment"] = rng.choice(EMPLOYMENTS)
                starts.setdefault(worker["id"], day)
            response = await platform.client.post(
                f"/v1/persons/{worker['id']}/status", json=body, headers=token
            )
            assert response.status_code == 201, response.text
            day += timedelta(days=rng.randint(1, 60))
        if rng.random() < 0.3:  # a correction: a status that held from an earlier day than the last record's
            body = {
                "status": rng.choice(["unemployed", "employed"]),
                "since": (day - timedelta(days=45)).isoformat(),
            }
            if body["status"] == "employed":
                body["employment"] = rng.choice(EMPLOYMENTS)
            response = await platform.client.post(
                f"/v1/persons/{worker['id']}/status", json=body, headers=token
            )
            assert response.status_code == 201, response.text
        if rng.random() < 0.45:
            start = max(today - timedelta(days=360), min(today, day + timedelta(days=rng.randint(0, 20))))
            application = await platform.client.post(
                "/v1/applications",
                json={"person_id": worker["id"], "job_id": job, "channel": "station"},
                headers=token,
            )
            assert application.status_code == 201, application.text
            path = f"/v1/applications/{application.json()['id']}"
            assert (await platform.client.post(f"{path}/offer", headers=recruiter)).status_code == 200
            if rng.random() < 0.2:
                assert (await platform.client.post(f"{path}/decline", headers=token)).status_code == 200
                continue
            assert (await platform.client.post(f"{path}/accept", headers=token)).status_code == 200
            place = {"start_date": start.isoformat(), "needs_transport": False}
            placement = await platform.client.post(f"{path}/place", json=place, headers=recruiter)
            assert placement.status_code == 200, placement.text
            placed.append((worker, placement.json()["placement_id"], start))
    await eventually(lambda: settled(platform), timeout=60, what="the placements reach demand")
    for worker, placement_id, start in placed:
        token = station_token(worker["station_id"])
        if rng.random() < 0.35:
            ended_on = min(today, start + timedelta(days=rng.randint(1, 200)))
            end = {"ended_on": ended_on.isoformat(), "reason": "合同到期"}
            response = await platform.client.post(
                f"/v1/placements/{placement_id}/end", json=end, headers=token
            )
            assert response.status_code == 200, response.text
    await eventually(lambda: settled(platform), timeout=60, what="the endings reach demand")
    for station in stations:
        token = station_token(station)
        overdue = await platform.client.get(
            "/v1/follow-ups", params={"state": "overdue", "limit": 200}, headers=token
        )
        for visit in overdue.json()["items"]:
            if rng.random() < 0.5:
                body = {
                    "visited_on": today.isoformat(),
                    "still_employed": rng.random() < 0.7,
                    "wages_on_time": True,
                }
                recorded = await platform.client.post(
                    f"/v1/follow-ups/{visit['id']}", json=body, headers=token
                )
                assert recorded.status_code in (200, 409), recorded.text  # 409: cancelled by a "left" visit
    await eventually(lambda: settled(platform), timeout=60, what="the visits reach everyone")
    employed = [w for w in workers if (await _status(platform, w)) == "employed"]
    stopped = employed[: max(1, len(employed) // 4)]
    month = shift_month(today.strftime("%Y-%m"), -1)
    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(["身份证号", "统一社会信用代码", "缴费月份", "缴费状态"])
    for worker in stopped:
        sheet.append([person_body("", serials[worker["id"]])["id_number"], "", month, "未缴"])
    buffer = io.BytesIO()
    book.save(buffer)
    imported = await platform.client.post(
        "/v1/monitoring/insurance-imports", files={"file": ("社保.xlsx", buffer.getvalue())}, headers=ADMIN
    )
    assert imported.status_code == 201, imported.text
    for station in stations:
        token = station_token(station)
        listed = await platform.client.get("/v1/warnings", params={"station_id": station}, headers=token)
        for warning in listed.json()["items"]:
            if rng.random() < 0.4:
                resolved = await platform.client.post(f"/v1/warnings/{warning['id']}/resolve", headers=token)
                assert resolved.status_code == 200, resolved.text
    # training: a programme that began months ago; some workers enrolled, most of them completed on some day
    base = (await platform.client.post("/v1/training-bases", json=base_body(), headers=ADMIN)).json()
    programme_body_ = programme_body(
        base["id"], starts_on=(today - timedelta(days=330)).isoformat(), capacity=60
    )
    programme = (await platform.client.post("/v1/programmes", json=programme_body_, headers=ADMIN)).json()
    trained = [worker for worker in workers if rng.random() < 0.4]
    for worker in trained:
        enrolment = await platform.client.post(
            f"/v1/programmes/{programme['id']}/enrolments", json={"person_id": worker["id"]}, headers=ADMIN
        )
        assert enrolment.status_code == 201, enrolment.text
        if rng.random() < 0.7:
            before_work = starts.get(worker["id"], today) - timedelta(days=rng.randint(0, 250))
            completed_on = max(today - timedelta(days=320), before_work)
            body = {"completed_on": completed_on.isoformat(), "certificate": "电子设备装接工（五级）"}
            done = await platform.client.post(
                f"/v1/enrolments/{enrolment.json()['id']}/complete", json=body, headers=ADMIN
            )
            assert done.status_code == 200, done.text
    erased = rng.choice(
        [worker for worker in workers if worker not in trained]
    )  # training forgets the erased
    response = await platform.client.delete(f"/v1/persons/{erased['id']}", headers=ADMIN)
    assert response.status_code == 204, response.text
    await eventually(lambda: settled(platform), timeout=60, what="monitoring has the whole history")
    return History(stations=stations, today=today)


async def _status(platform: Platform, worker: dict[str, Any]) -> str:
    response = await platform.client.get(
        f"/v1/persons/{worker['id']}", headers=station_token(worker["station_id"])
    )
    return str(response.json()["status"])


# --- the ground truth, from the sources' own tables --------------------------------------------------------------


@dataclass
class Truth:
    """What the sources say, computed here without monitoring's code."""

    persons: dict[str, Person]
    changes: dict[str, list[StatusChange]]
    warnings: list[EarlyWarning]
    visits: list[FollowUp]
    placements: list[Placement]
    enrolments: list[Enrolment]
    job_cities: dict[str, str]
    recommended: list[Recommendation]

    def worked_in(self, person_id: str, city: str) -> bool:
        """Employed in the Jiangsu city at some time (in the timeline in force)."""
        return any(
            segment.status == "employed" and in_city(segment, city) for segment in self.timeline(person_id)
        )

    def timeline(self, person_id: str) -> list[StatusChange]:
        """The statuses in force, by day: each record holds from its day on, over what earlier records said
        for those days (a record cuts the timeline at its day and continues it)."""
        segments: list[StatusChange] = []
        for change in self.changes.get(person_id, []):
            segments = [segment for segment in segments if segment.since < change.since] + [change]
        return segments

    def state_on(self, person_id: str, day: date) -> StatusChange | None:
        held = [segment for segment in self.timeline(person_id) if segment.since <= day]
        return held[-1] if held else None

    def employed_on(self, day: date, station: str) -> list[StatusChange]:
        states = [
            self.state_on(person.id, day) for person in self.persons.values() if person.station_id == station
        ]
        return [state for state in states if state is not None and state.status == "employed"]

    def employed_within(self, person_id: str, first: date, months: int) -> bool:
        """A job started from `first` to `months` later."""
        last = months_after(first, months)
        return any(
            segment.status == "employed" and first <= segment.since <= last
            for segment in self.timeline(person_id)
        )

    def job_losses(self, station: str, first: date, last: date) -> list[int | None]:
        """Employed one day, unemployed or seeking from the next record on: for each such loss in the range,
        the days until the worker's next job (None: none yet)."""
        losses: list[int | None] = []
        for person_id in self.changes:
            if self.persons[person_id].station_id != station:
                continue
            timeline = self.timeline(person_id)
            for index, (before, after) in enumerate(itertools.pairwise(timeline)):
                lost = before.status == "employed" and after.status in ("unemployed", "seeking")
                if lost and first <= after.since <= last:
                    later = [s.since for s in timeline[index + 2 :] if s.status == "employed"]
                    losses.append((later[0] - after.since).days if later else None)
        return losses


async def ground_truth(platform: Platform) -> Truth:
    async with platform.runtime("demand").sessions() as session:
        persons = {person.id: person for person in (await session.scalars(select(Person))).all()}
        changes: dict[str, list[StatusChange]] = {}
        query = select(StatusChange).order_by(StatusChange.recorded_at, StatusChange.id)
        for change in (await session.scalars(query)).all():
            changes.setdefault(change.person_id, []).append(change)
        warnings = list((await session.scalars(select(EarlyWarning))).all())
        visits = list((await session.scalars(select(FollowUp))).all())
    async with platform.runtime("matching").sessions() as session:
        placements = list((await session.scalars(select(Placement))).all())
        recommended = list((await session.scalars(select(Recommendation))).all())
    async with platform.runtime("training").sessions() as session:
        enrolments = list((await session.scalars(select(Enrolment))).all())
    async with platform.runtime("supply").sessions() as session:
        job_cities = {job.id: job.city_code for job in (await session.scalars(select(Job))).all()}
    return Truth(persons, changes, warnings, visits, placements, enrolments, job_cities, recommended)


def in_city(segment: StatusChange | None, city: str) -> bool:
    return segment is not None and (segment.employment_region_code or "")[:4] == city


def shown(count: int) -> int | str:
    """As a caller outside the owning station sees a count."""
    return "<5" if 0 < count < 5 else count


def local_day(moment: Any) -> date:
    return moment.astimezone(BEIJING).date()  # type: ignore[no-any-return]


async def check_figures(platform: Platform, history: History) -> int:
    """Every station's exact figures against the truth; the number of figures compared."""
    truth = await ground_truth(platform)
    assert truth.recommended, "the history has workers shown recommended jobs"
    today = history.today
    months = [shift_month(today.strftime("%Y-%m"), -offset) for offset in range(11, -1, -1)]
    first, last = month_bounds(months[0])[0], today
    compared = 0
    for station in history.stations:
        token = station_token(station)
        figures = (
            await platform.client.get("/v1/stats/employment", params={"by": "how"}, headers=token)
        ).json()
        for point in figures["series"]:
            day = month_end(point["month"], today)
            assert point["employed"] == len(truth.employed_on(day, station)), (station, point)
            compared += 1
        now = truth.employed_on(today, station)
        assert figures["employed"] == len(now)
        how = Counter(state.employment_how for state in now)
        assert {cell["key"]: cell["count"] for cell in figures["breakdown"]} == dict(how)
        cities = (
            await platform.client.get("/v1/stats/employment", params={"by": "jiangsu_city"}, headers=token)
        ).json()
        city = Counter(
            (state.employment_region_code or "")[:4]
            if (state.employment_region_code or "")[:4] in JIANGSU_CITIES
            else None
            for state in now
        )
        assert {cell["key"]: cell["count"] for cell in cities["breakdown"]} == dict(city)
        compared += 2 + len(how) + len(city)

        warnings = (await platform.client.get("/v1/stats/warnings", headers=token)).json()
        mine = [w for w in truth.warnings if w.station_id == station]
        assert warnings["raised"] == sum(first <= local_day(w.raised_at) <= last for w in mine)
        assert warnings["open"] == sum(w.resolved_at is None for w in mine)
        waits = [
            (local_day(w.resolved_at) - local_day(w.raised_at)).days
            for w in mine
            if w.resolved_at and first <= local_day(w.resolved_at) <= last
        ]
        assert warnings["resolved"] == len(waits)
        assert warnings["median_days_to_resolve"] == (statistics.median(waits) if waits else None)
        visits = [v for v in truth.visits if v.station_id == station and v.due_on < today]
        assert warnings["follow_ups_due"] == len(visits)
        assert warnings["follow_ups_overdue"] == sum(v.status == "due" for v in visits)

        funnel = (await platform.client.get("/v1/stats/funnel", headers=token)).json()
        steps = {step["step"]: step["count"] for step in funnel["total"]}
        by_station = await platform.client.get("/v1/stats/funnel", params={"by": "station"}, headers=token)
        assert by_station.json()["total"] == funnel["total"]  # added up from the stations, counted once
        registered = [p for p in truth.persons.values() if p.station_id == station]
        assert steps["registered"] == sum(first <= local_day(p.created_at) <= last for p in registered)
        shown = {r.person_id for r in truth.recommended if first <= r.recommended_on <= last}
        assert steps["recommended"] == len(shown & {p.id for p in registered})
        placements = [
            p for p in truth.placements if p.station_id == station and first <= p.start_date <= last
        ]
        assert steps["placed"] == len({p.person_id for p in placements})

        retention = (await platform.client.get("/v1/stats/retention", headers=token)).json()
        losses = truth.job_losses(station, first, last)
        gaps = [days for days in losses if days is not None]
        assert retention["job_losses"] == len(losses)
        assert retention["re_employed"] == len(gaps)
        assert retention["median_days_to_re_employment"] == (statistics.median(gaps) if gaps else None)
        ended = [
            (p.ended_on - p.start_date).days
            for p in truth.placements
            if p.station_id == station and p.ended_on and first <= p.ended_on <= last
        ]
        assert retention["ended"] == len(ended)
        assert retention["median_tenure_days"] == (statistics.median(ended) if ended else None)
        cohorts = {cohort["month"]: cohort for cohort in retention["cohorts"]}
        for month in months:
            started = [p for p in placements if p.start_date.strftime("%Y-%m") == month]
            assert cohorts[month]["placed"] == len(started)
            check = [months_after(p.start_date, 3) for p in started]
            if started and all(day <= today for day in check):
                still = sum(
                    (state := truth.state_on(p.person_id, day)) is not None and state.status == "employed"
                    for p, day in zip(started, check, strict=True)
                )
                assert cohorts[month]["retained_3_months"] == round(still / len(started), 4), month
        compared += 14 + len(months)

        training = (await platform.client.get("/v1/stats/training", headers=token)).json()
        enrolled = [
            e for e in truth.enrolments if e.person_id and truth.persons[e.person_id].station_id == station
        ]
        done = [e for e in enrolled if e.completed_on is not None and first <= e.completed_on <= last]
        assert training["enrolled"] == sum(first <= local_day(e.created_at) <= last for e in enrolled)
        assert training["completed"] == len(done)
        assert training["employed_within_6_months"] == sum(
            truth.employed_within(str(e.person_id), e.completed_on, 6) for e in done if e.completed_on
        )
        compared += 3
    total = sum(len(truth.employed_on(today, station)) for station in history.stations)
    admin = (await platform.client.get("/v1/stats/employment", headers=ADMIN)).json()
    assert admin["employed"] == ("<5" if 0 < total < 5 else total)
    return compared + 1 + await check_bureau(platform, truth, history, "3205")


async def check_bureau(platform: Platform, truth: Truth, history: History, city: str) -> int:
    """A Jiangsu city's bureau: the facts of work there (employment, placements, the visits they owe) and the
    facts kept per worker of the workers who worked there (registration, warnings, trainings), small counts
    hidden; the number of figures compared."""
    today = history.today
    first = month_bounds(shift_month(today.strftime("%Y-%m"), -11))[0]
    token = auth("bureau", city_code=city)
    worked = {person_id for person_id in truth.persons if truth.worked_in(person_id, city)}
    assert worked, "the history has work in the city"

    async def figures(topic: str) -> dict[str, Any]:
        response = await platform.client.get(f"/v1/stats/{topic}", headers=token)
        assert response.status_code == 200, response.text
        return dict(response.json())

    employment = await figures("employment")
    now = [person_id for person_id in truth.persons if in_city(truth.state_on(person_id, today), city)]
    assert employment["employed"] == shown(len(now))
    warnings = await figures("warnings")
    mine = [w for w in truth.warnings if w.person_id in worked]
    assert warnings["raised"] == shown(sum(first <= local_day(w.raised_at) <= today for w in mine))
    assert warnings["open"] == shown(sum(w.resolved_at is None for w in mine))
    visits = [v for v in truth.visits if truth.job_cities.get(v.job_id) == city and v.due_on < today]
    assert warnings["follow_ups_due"] == shown(len(visits))
    assert warnings["follow_ups_overdue"] == shown(sum(v.status == "due" for v in visits))
    funnel = await figures("funnel")
    steps = {step["step"]: step["count"] for step in funnel["total"]}
    registered = [truth.persons[person_id] for person_id in worked]
    assert steps["registered"] == shown(sum(first <= local_day(p.created_at) <= today for p in registered))
    recommended = {r.person_id for r in truth.recommended if first <= r.recommended_on <= today}
    assert steps["recommended"] == shown(len(recommended & worked))
    placed = {
        p.person_id
        for p in truth.placements
        if truth.job_cities.get(p.job_id) == city and first <= p.start_date <= today
    }
    assert steps["placed"] == shown(len(placed))
    training = await figures("training")
    enrolled = [e for e in truth.enrolments if e.person_id in worked]
    assert training["enrolled"] == shown(sum(first <= local_day(e.created_at) <= today for e in enrolled))
    done = [e for e in enrolled if e.completed_on is not None and first <= e.completed_on <= today]
    assert training["completed"] == shown(len(done))
    return 10


@pytest.mark.parametrize("seed", [20261206, 2])
async def test_every_figure_equals_the_truth_and_survives_a_rebuild(platform: Platform, seed: int) -> None:
    history = await make_history(platform, seed)
    compared = await check_figures(platform, history)
    assert compared > 100, compared
    await rebuild(platform.settings)
    assert await check_figures(platform, history) == compared
