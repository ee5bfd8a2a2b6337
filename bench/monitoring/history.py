"""The synthetic history: stations, workers and their facts, written with the sqlite3 module and cached."""

from __future__ import annotations

import bisect
import csv
import json
import math
import random
import sqlite3
import time
import uuid
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from bench.monitoring.common import ROOT, err
from libs import migrations
from libs.auth import Principal, Role
from libs.db import create_engine, months_after, session_factory
from libs.reference.divisions import is_current_county
from libs.reference.occupations import OCCUPATIONS
from libs.reference.regions import JIANGSU_CITIES, PROVINCES
from services.monitoring import service
from services.monitoring.facts import TRAINING_WINDOW_MONTHS, categories_column, occupation_group
from services.monitoring.models import Base
from services.monitoring.schemas import AgreementCreate, Targets

# ---------------------------------------------------------------------------------------------- the history

# 东西部协作 partner provinces and their share of the workers
PARTNERS = {"61": 16, "52": 14, "51": 12, "62": 10, "53": 10, "63": 8, "50": 8, "45": 8, "64": 7, "65": 7}
STATIONS_PER_PROVINCE = 6
ELSEWHERE = ("33", "44", "35", "31")  # 其他省份就业: Zhejiang, Guangdong, Fujian, Shanghai
JIANGSU_WEIGHTS = {
    "3205": 30,
    "3202": 14,
    "3201": 12,
    "3204": 9,
    "3206": 8,
    "3210": 5,
    "3212": 5,
    "3211": 4,
    "3203": 3,
    "3209": 3,
    "3208": 3,
    "3207": 2,
    "3213": 2,
}
CATEGORY_SHARES = {
    "poverty_alleviated": 0.35,
    "registered_low_income": 0.15,
    "rural_low_income": 0.12,
    "dibao": 0.08,
}
HOW = {"placed": 22, "self_found": 33, "flexible": 17, "public_welfare": 14, "self_employed": 14}
WHERE = {"jiangsu": 25, "home_county": 35, "home_province": 25, "other_province": 15}
ENDED_TO = {"unemployed": 45, "seeking": 30, "inactive": 15, "training": 10}
CHANNELS = {"station": 45, "online": 30, "livestream": 15, "onsite": 10}
SPELL_COUNTS = {0: 20, 1: 42, 2: 26, 3: 12}
EXTRA_APPLICATIONS = {0: 55, 1: 25, 2: 12, 3: 8}
VISIT_MONTHS = (1, 3, 6, 12)  # libs.settings follow_up_months
TRIP_EVERY_DAYS = 14
TRAINING_BASES = 15
PROGRAMMES_PER_BASE = 4


def names(text: str) -> tuple[str, ...]:
    return tuple(text.split())


ORIGIN = "station_id province_code city_code county_code"  # the worker's scope columns, on every fact
COLUMNS: dict[str, tuple[str, ...]] = {  # the order the generator writes them in
    "stations": names("id version name province_code city_code county_code"),
    "jobs": names("id version employer_id industry occupation_code city_code"),
    "workers": names(
        f"id version {ORIGIN} categories key_region registered_on status status_since employment erased"
    ),
    "spells": names(
        f"id person_id {ORIGIN} categories key_region started_on ended_on ended_to how where region_code "
        "jiangsu_city_code placement_id job_id employer_id industry occupation_group"
    ),
    "placements": names(
        f"id person_id {ORIGIN} job_id employer_id jiangsu_city_code channel started_on ended_on cohort "
        "day90_on month3_on month6_on month12_on"
    ),
    "applications": names(
        f"id person_id {ORIGIN} job_id jiangsu_city_code channel submitted_on offered_on accepted_on "
        "declined_on"
    ),
    "warnings": names(f"id person_id {ORIGIN} kind raised_on resolved_on"),
    "follow_ups": names(f"id placement_id person_id {ORIGIN} months due_on visited_on cancelled_on"),
    "trainings": names(f"id person_id {ORIGIN} base_id programme_id enrolled_on completed_on window_ends_on"),
    "trips": names("id status origin_station_id province_code destinations departs_on seats seats_left"),
    "bookings": names(f"id person_id {ORIGIN} status trip_id jiangsu_city_code booked_on departs_on at"),
}
# The schema the generator writes rows in; the later migrations then add their indexes and fill in what they
# derive from the rows (the settled answers), as they would on a province's database.
WRITTEN_AT = "0001"
FACT_TABLES = ("spells", "placements", "applications", "warnings", "follow_ups", "trainings", "bookings")


def quoted(name: str) -> str:
    return f'"{name}"'


class Weighted:
    """A weighted choice with one random() call."""

    def __init__(self, rng: random.Random, weights: Mapping[Any, float]) -> None:
        self.rng = rng
        self.items = list(weights)
        total = float(sum(weights.values()))
        running, self.cumulative = 0.0, []
        for value in weights.values():
            running += value / total
            self.cumulative.append(running)
        self.cumulative[-1] = 1.0

    def __call__(self) -> Any:
        return self.items[bisect.bisect(self.cumulative, self.rng.random())]


@dataclass
class StationPlan:
    id: str
    name: str
    province: str
    city: str
    county: str
    key_region: bool
    route: tuple[str, ...]  # the Jiangsu cities its direct buses serve
    first_trip: int  # ordinal of its first trip's departure
    trips: list[tuple[str, int, str, int]] = field(default_factory=list)  # id, day, status, seats
    people: list[str] = field(default_factory=list)  # a sample of its workers (future trips' bookings)


def current_counties() -> dict[str, str]:
    """Current county-level GB/T 2260 codes and names (libs/reference/divisions.csv)."""
    counties: dict[str, str] = {}
    with (ROOT / "libs" / "reference" / "divisions.csv").open(encoding="utf-8") as source:
        for row in csv.DictReader(source):
            if row["level"] == "county" and not row["valid_to"] and is_current_county(row["code"]):
                counties[row["code"]] = row["name"]
    return counties


class Writer:
    """Rows buffered per table and written with executemany in chunks."""

    def __init__(self, connection: sqlite3.Connection, chunk: int = 50_000) -> None:
        self.connection = connection
        self.chunk = chunk
        self.buffers: dict[str, list[tuple[Any, ...]]] = {table: [] for table in COLUMNS}
        self.counts: Counter[str] = Counter()
        self.sql = {
            table: f"INSERT INTO {table} ({', '.join(map(quoted, columns))}) "
            f"VALUES ({', '.join('?' * len(columns))})"
            for table, columns in COLUMNS.items()
        }

    def add(self, table: str, row: tuple[Any, ...]) -> None:
        buffer = self.buffers[table]
        buffer.append(row)
        if len(buffer) >= self.chunk:
            self.flush(table)

    def flush(self, table: str) -> None:
        buffer = self.buffers[table]
        if buffer:
            self.connection.executemany(self.sql[table], buffer)
            self.counts[table] += len(buffer)
            buffer.clear()

    def close(self) -> None:
        for table in COLUMNS:
            self.flush(table)


class History:
    """Writes a deterministic synthetic history ending on `today` into `writer`."""

    def __init__(self, workers: int, seed: int, today: date, writer: Writer) -> None:
        self.n_workers = workers
        self.rng = random.Random(seed)
        self.today = today.toordinal()
        self.start = months_after(today, -24).toordinal()  # registrations over 24 months
        self.base = self.start - 800
        self.iso = [date.fromordinal(day).isoformat() for day in range(self.base, self.today + 800)]
        self.months: dict[tuple[int, int], int] = {}
        self.writer = writer
        rng = self.rng
        self.how, self.where, self.ended_to = (
            Weighted(rng, HOW),
            Weighted(rng, WHERE),
            Weighted(rng, ENDED_TO),
        )
        self.channel, self.spell_count = Weighted(rng, CHANNELS), Weighted(rng, SPELL_COUNTS)
        self.extra_applications = Weighted(rng, EXTRA_APPLICATIONS)
        self.jiangsu_city = Weighted(rng, JIANGSU_WEIGHTS)

    def new_id(self) -> str:
        return str(uuid.UUID(int=self.rng.getrandbits(128), version=4))

    def day(self, ordinal: int | None) -> str | None:
        return None if ordinal is None else self.iso[ordinal - self.base]

    def after(self, ordinal: int, months: int) -> int:
        key = (ordinal, months)
        found = self.months.get(key)
        if found is None:
            found = self.months[key] = months_after(date.fromordinal(ordinal), months).toordinal()
        return found

    # --- reference rows ---------------------------------------------------------------------------------------

    def places(self) -> None:
        rng, counties = self.rng, current_counties()
        by_province: dict[str, list[str]] = {}
        for code in sorted(counties):
            by_province.setdefault(code[:2], []).append(code)
        self.jiangsu_counties = {
            city: [code for code in by_province["32"] if code.startswith(city)] for city in JIANGSU_CITIES
        }
        self.province_counties = {code: by_province[code] for code in PARTNERS}
        self.elsewhere_counties = [code for province in ELSEWHERE for code in by_province[province]]
        self.stations: list[StationPlan] = []
        weights: dict[int, float] = {}
        for province, share in PARTNERS.items():
            for county in rng.sample(by_province[province], STATIONS_PER_PROVINCE):
                route = {"3205"}
                while len(route) < 3:
                    route.add(self.jiangsu_city())
                plan = StationPlan(
                    id=self.new_id(),
                    name=f"{counties[county]}东西部劳务协作工作站",
                    province=province,
                    city=county[:4],
                    county=county,
                    key_region=rng.random() < 0.45,
                    route=tuple(sorted(route)),
                    first_trip=self.start + rng.randrange(TRIP_EVERY_DAYS),
                )
                weights[len(self.stations)] = share / STATIONS_PER_PROVINCE
                self.stations.append(plan)
                self.writer.add("stations", (plan.id, 1, plan.name, province, plan.city, plan.county))
        self.station_of = Weighted(rng, weights)
        self.plan_of = {plan.id: plan for plan in self.stations}
        self.route_of = {plan.id: list(plan.route) for plan in self.stations}
        occupations = sorted(OCCUPATIONS.values(), key=lambda occupation: occupation.code)
        n_jobs = max(2_000, self.n_workers // 50)
        employers = [self.new_id() for _ in range(max(300, n_jobs // 6))]
        self.jobs: dict[str, list[tuple[str, str, str, str | None]]] = {city: [] for city in JIANGSU_CITIES}
        self.all_jobs: list[tuple[str, str]] = []
        for _ in range(n_jobs):
            job_id, employer = self.new_id(), rng.choice(employers)
            occupation, city = rng.choice(occupations), self.jiangsu_city()
            self.jobs[city].append((job_id, employer, occupation.industry, occupation_group(occupation.code)))
            self.all_jobs.append((job_id, city))
            self.writer.add("jobs", (job_id, 1, employer, occupation.industry, occupation.code, city))
        for plan in self.stations:
            day = plan.first_trip
            while day <= self.today + 42:
                status = "cancelled" if rng.random() < 0.04 else "scheduled"
                plan.trips.append((self.new_id(), day, status, rng.choice((45, 53))))
                day += TRIP_EVERY_DAYS
        self.seats_left = {trip[0]: trip[3] for plan in self.stations for trip in plan.trips}
        self.bases = [self.new_id() for _ in range(TRAINING_BASES)]
        self.programmes = {base: [self.new_id() for _ in range(PROGRAMMES_PER_BASE)] for base in self.bases}
        categories = list(CATEGORY_SHARES)
        self.category_columns = [
            categories_column([name for bit, name in enumerate(categories) if mask >> bit & 1])
            for mask in range(1 << len(categories))
        ]

    # --- one worker's life ---------------------------------------------------------------------------------

    def worker(self) -> None:
        rng, today, add = self.rng, self.today, self.writer.add
        plan = self.stations[self.station_of()]
        person = self.new_id()
        origin = (plan.id, plan.province, plan.city, plan.county)
        if len(plan.people) < 400:
            plan.people.append(person)
        mask = 0
        for bit, share in enumerate(CATEGORY_SHARES.values()):
            if rng.random() < share:
                mask |= 1 << bit
        categories, key_region = self.category_columns[mask], int(plan.key_region)
        registered = self.start + int((today - self.start) * math.sqrt(rng.random()))  # more recent
        status, since, employment = "seeking", registered, None
        starts: list[int] = []
        n_spells = self.spell_count()
        if rng.random() < 0.15:
            current = registered - rng.randint(30, 400)  # already at work when registering
        else:
            current = registered + int(rng.expovariate(1 / 35))
        for index in range(n_spells):
            start = current
            if start > today:
                break
            end: int | None = start + 8 + int(rng.lognormvariate(5.3, 0.8))
            if (index == n_spells - 1 and rng.random() < 0.55) or (end is not None and end > today):
                end = None
            how = self.how()
            spell = self.spell(person, origin, categories, key_region, start, end, how)
            add("spells", spell)
            starts.append(start)
            if end is None:
                status, since = "employed", start
                employment = json.dumps({"how": how, "where": spell[12], "region_code": spell[13]})
                break
            status, since = spell[10], end
            if status in ("unemployed", "seeking") and rng.random() < 0.25:
                self.warning(person, origin, "employed_to_unemployed", end)
            current = end + rng.randint(5, 150)
        add(
            "workers",
            (
                person,
                1,
                *origin,
                categories,
                key_region,
                self.day(registered),
                status,
                self.day(since),
                employment,
                0,
            ),
        )
        for _ in range(self.extra_applications()):
            self.application(person, origin, registered)
        if rng.random() < 0.08:
            self.training(person, origin, registered, starts)

    def spell(
        self,
        person: str,
        origin: tuple[str, str, str, str],
        categories: str,
        key_region: int,
        start: int,
        end: int | None,
        how: str,
    ) -> tuple[Any, ...]:
        rng = self.rng
        ended_to = self.ended_to() if end is not None else None
        placement_id = job_id = employer = industry = group = None
        if how == "placed":
            city = rng.choice(self.route_of[origin[0]]) if rng.random() < 0.7 else self.jiangsu_city()
            job_id, employer, industry, group = rng.choice(self.jobs[city])
            where, region = "jiangsu", rng.choice(self.jiangsu_counties[city])
            placement_id = self.placement(person, origin, city, job_id, employer, start, end)
        else:
            where = self.where()
            if where == "jiangsu":
                region = rng.choice(self.jiangsu_counties[self.jiangsu_city()])
            elif where == "home_county":
                region = origin[3]
            elif where == "home_province":
                region = rng.choice(self.province_counties[origin[1]])
            else:
                region = rng.choice(self.elsewhere_counties)
        jiangsu = region[:4] if region[:4] in JIANGSU_CITIES else None
        return (
            self.new_id(),
            person,
            *origin,
            categories,
            key_region,
            self.day(start),
            self.day(end),
            ended_to,
            how,
            where,
            region,
            jiangsu,
            placement_id,
            job_id,
            employer,
            industry,
            group,
        )

    def placement(
        self,
        person: str,
        origin: tuple[str, str, str, str],
        city: str,
        job_id: str,
        employer: str,
        start: int,
        end: int | None,
    ) -> str:
        rng, today, add = self.rng, self.today, self.writer.add
        placement_id, channel = self.new_id(), self.channel()
        started = self.day(start)
        assert started is not None
        add(
            "placements",
            (
                placement_id,
                person,
                *origin,
                job_id,
                employer,
                city,
                channel,
                started,
                self.day(end),
                started[:7],
                self.day(start + 90),
                self.day(self.after(start, 3)),
                self.day(self.after(start, 6)),
                self.day(self.after(start, 12)),
            ),
        )
        submitted = start - rng.randint(7, 45)
        offered = submitted + rng.randint(1, 5)
        add(
            "applications",
            (
                self.new_id(),
                person,
                *origin,
                job_id,
                city,
                channel,
                self.day(submitted),
                self.day(offered),
                self.day(offered + rng.randint(0, 2)),
                None,
            ),
        )
        for months in VISIT_MONTHS:
            due = self.after(start, months)
            visit = due + rng.randint(0, 20)
            visited = cancelled = None
            if end is not None and end <= visit:
                cancelled = end  # the placement ended before the visit: cancelled on its end
            elif visit <= today and rng.random() < 0.88:
                visited = visit
                draw = rng.random()
                if draw < 0.03:
                    kind = ("left_job", "no_contract", "wage_arrears")[int(draw / 0.01)]
                    self.warning(person, origin, kind, visit)
            add(
                "follow_ups",
                (
                    f"{placement_id}:{months}",
                    placement_id,
                    person,
                    *origin,
                    months,
                    self.day(due),
                    self.day(visited),
                    self.day(cancelled),
                ),
            )
        if end is not None and rng.random() < 0.35:
            self.warning(person, origin, "placement_ended", end)
        if rng.random() < 0.5:
            self.booking(person, origin, city, start)
        return placement_id

    def booking(self, person: str, origin: tuple[str, str, str, str], city: str, start: int) -> None:
        rng = self.rng
        plan = self.plan_of[origin[0]]
        index = (start - 1 - plan.first_trip) // TRIP_EVERY_DAYS
        trip = plan.trips[index] if 0 <= index < len(plan.trips) else None
        if trip is None or trip[1] < start - TRIP_EVERY_DAYS or city not in plan.route:
            booked = start - rng.randint(3, 20)
            self.seat(person, origin, "unserved", None, city, booked, None)
            return
        trip_id, departs, trip_status, _seats = trip
        booked = departs - rng.randint(1, 20)
        if trip_status == "cancelled" or rng.random() < 0.06:
            self.seat(person, origin, "cancelled", trip_id, city, booked, departs)
        elif self.seats_left[trip_id] > 0:
            self.seats_left[trip_id] -= 1
            self.seat(person, origin, "confirmed", trip_id, city, booked, departs)
        else:  # waitlisted until the bus left without them
            self.seat(person, origin, "cancelled", trip_id, city, booked, departs)

    def seat(
        self,
        person: str,
        origin: tuple[str, str, str, str],
        status: str,
        trip_id: str | None,
        city: str,
        booked: int,
        departs: int | None,
    ) -> None:
        at = f"{self.day(booked)} {self.rng.randint(0, 9):02d}:{self.rng.randint(0, 59):02d}:00.000000"
        self.writer.add(
            "bookings",
            (
                self.new_id(),
                person,
                *origin,
                status,
                trip_id,
                city,
                self.day(booked),
                self.day(departs),
                at,
            ),
        )

    def warning(self, person: str, origin: tuple[str, str, str, str], kind: str, raised: int) -> None:
        rng = self.rng
        resolved: int | None = raised + 1 + int(rng.expovariate(1 / 18)) if rng.random() < 0.8 else None
        if resolved is not None and resolved > self.today:
            resolved = None
        self.writer.add(
            "warnings",
            (self.new_id(), person, *origin, kind, self.day(raised), self.day(resolved)),
        )

    def application(self, person: str, origin: tuple[str, str, str, str], registered: int) -> None:
        rng, today = self.rng, self.today
        submitted = registered + rng.randint(0, max(0, today - registered))
        job_id, city = rng.choice(self.all_jobs)
        offered: int | None = submitted + rng.randint(1, 10) if rng.random() < 0.2 else None
        if offered is not None and offered > today:
            offered = None
        declined: int | None = offered + rng.randint(0, 5) if offered and rng.random() < 0.6 else None
        if declined is not None and declined > today:
            declined = None
        self.writer.add(
            "applications",
            (
                self.new_id(),
                person,
                *origin,
                job_id,
                city,
                self.channel(),
                self.day(submitted),
                self.day(offered),
                None,
                self.day(declined),
            ),
        )

    def training(
        self, person: str, origin: tuple[str, str, str, str], registered: int, starts: list[int]
    ) -> None:
        rng, today = self.rng, self.today
        if starts and rng.random() < 0.6:
            completed: int | None = rng.choice(starts) - rng.randint(0, 150)  # a job followed the course
        else:
            completed = registered + rng.randint(10, 400)
        assert completed is not None
        enrolled = completed - rng.randint(20, 90)
        if enrolled > today:
            return
        if completed > today or rng.random() < 0.12:
            completed = None  # still on the course, or dropped out
        base = rng.choice(self.bases)
        window = self.after(completed, TRAINING_WINDOW_MONTHS) if completed is not None else None
        self.writer.add(
            "trainings",
            (
                self.new_id(),
                person,
                *origin,
                base,
                rng.choice(self.programmes[base]),
                self.day(enrolled),
                self.day(completed),
                self.day(window),
            ),
        )

    def future_bookings(self) -> None:
        """Seats on buses that have not left yet: confirmed while seats last, then waitlisted."""
        rng = self.rng
        for plan in self.stations:
            origin = (plan.id, plan.province, plan.city, plan.county)
            for trip_id, departs, status, _seats in plan.trips:
                if departs <= self.today or not plan.people:
                    continue
                for _ in range(rng.randint(20, 70)):
                    person = rng.choice(plan.people)
                    booked = self.today - rng.randint(0, 20)
                    city = rng.choice(plan.route)
                    if status == "cancelled":
                        self.seat(person, origin, "cancelled", trip_id, city, booked, departs)
                    elif self.seats_left[trip_id] > 0:
                        self.seats_left[trip_id] -= 1
                        self.seat(person, origin, "confirmed", trip_id, city, booked, departs)
                    else:
                        self.seat(person, origin, "waitlisted", None, city, booked, None)

    def trips(self) -> None:
        for plan in self.stations:
            destinations = categories_column(plan.route)
            for trip_id, departs, status, seats in plan.trips:
                self.writer.add(
                    "trips",
                    (
                        trip_id,
                        status,
                        plan.id,
                        plan.province,
                        destinations,
                        self.day(departs),
                        seats,
                        self.seats_left[trip_id],
                    ),
                )

    def write(self, progress: Callable[[int], None]) -> None:
        self.places()
        for index in range(self.n_workers):
            self.worker()
            if index % 100_000 == 99_999:
                progress(index + 1)
        self.future_bookings()
        self.trips()
        self.writer.close()


@dataclass
class Built:
    path: Path
    cached: bool
    seconds: float
    rows: dict[str, int]
    file_mb: float


def database_url(path: Path) -> str:
    return f"sqlite+aiosqlite:///{path}"


def cached_build(path: Path) -> dict[str, Any] | None:
    """What the sidecar of a finished build says; None (and any leftovers removed) when there is none."""
    sidecar = path.with_suffix(".json")
    if path.exists() and sidecar.exists():
        info: dict[str, Any] = json.loads(sidecar.read_text())
        return info
    for stale in (path, sidecar, Path(f"{path}-wal"), Path(f"{path}-shm")):
        stale.unlink(missing_ok=True)
    path.parent.mkdir(parents=True, exist_ok=True)
    return None


def forget(path: Path) -> None:
    path.with_suffix(".json").unlink(missing_ok=True)


def write_sidecar(path: Path, info: dict[str, Any]) -> None:
    path.with_suffix(".json").write_text(json.dumps(info, indent=2))


def size_mb(path: Path) -> float:
    return path.stat().st_size / 2**20


async def build_database(path: Path, workers: int, seed: int, today: date, partner: str) -> Built:
    """The monitoring database of `workers` workers, from the cache when it was built before."""
    info = cached_build(path)
    if info is not None:
        await migrations.upgrade("monitoring", database_url(path))  # a newer migration (an index) applies
        return Built(path, True, info["seconds"], info["rows"], size_mb(path))
    started = time.perf_counter()
    err.print(f"[bold]building {path.name}[/] ({workers:,} workers, seed {seed}, history to {today})")
    await migrations.upgrade("monitoring", database_url(path), WRITTEN_AT)
    connection = sqlite3.connect(path, isolation_level=None)
    try:
        for pragma in ("journal_mode=OFF", "synchronous=OFF", "cache_size=-1048576", "temp_store=MEMORY"):
            connection.execute(f"PRAGMA {pragma}")
        known = {table: {column.name for column in Base.metadata.tables[table].columns} for table in COLUMNS}
        for table, columns in COLUMNS.items():
            missing = set(columns) - known[table]
            if missing:
                raise RuntimeError(f"{table} has no {sorted(missing)}: the bench's generator is out of date")
        connection.execute("BEGIN")
        writer = Writer(connection)
        history = History(workers, seed, today, writer)

        def progress(done: int) -> None:
            err.print(f"[dim]  {done:,} workers, {time.perf_counter() - started:.0f} s[/]")

        history.write(progress)
        connection.execute("COMMIT")
        connection.execute("PRAGMA journal_mode=WAL")
        rows = dict(writer.counts)
    finally:
        connection.close()
    await migrations.upgrade("monitoring", database_url(path))  # and what later ones derive from the rows
    engine = create_engine(database_url(path))
    try:
        async with session_factory(engine)() as session, session.begin():
            await service.create_agreement(
                session,
                Principal(sub="bench-admin", role=Role.admin),
                AgreementCreate(
                    title=f"苏州市—{PROVINCES[partner]}人力资源合作框架协议（{today.year} 年度）",
                    jiangsu_city_code="3205",
                    partner_region_code=partner,
                    year=today.year,
                    signed_on=date(today.year, 2, 18),
                    targets=Targets(employed=workers // 40, trained=workers // 200, carried=workers // 100),
                ),
            )
    finally:
        await engine.dispose()
    rows["agreements"] = 1
    seconds = time.perf_counter() - started
    write_sidecar(path, {"seconds": seconds, "rows": rows, "today": today.isoformat()})
    err.print(f"[dim]  built in {seconds:.0f} s: {sum(rows.values()):,} rows[/]")
    return Built(path, False, seconds, rows, size_mb(path))
