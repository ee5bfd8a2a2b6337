"""The read-model rules, without a database: the newest version wins, an erasure is final, a worker's copy in
matching keeps what trainings gave them (tests/integration/test_projection.py runs the same on both databases)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any, cast

from sqlalchemy.ext.asyncio import AsyncSession

from libs.events.contracts import Intention, PersonPayload, StationPayload, TrainingCompleted
from services.bus.models import Passenger, Station
from services.bus.service import PASSENGERS, STATIONS
from services.matching import service as matching
from services.matching.models import WorkerView
from tests.fakes import FakeSession

NOW = datetime(2026, 12, 1, tzinfo=UTC)


def station(version: int, name: str = "江苏驻西安新城劳务联络站") -> StationPayload:
    return StationPayload(
        id="s1", version=version, name=name, province_code="61", city_code="6101", county_code="610102",
        partner_city_code="3205",
    )  # fmt: skip


def person(version: int, **changes: Any) -> PersonPayload:
    return PersonPayload(
        id="p1", version=version, station_id="s1", province_code="61", gender="female", age=30, education=None,
        categories=[], key_region=False, skills=[], certificates=[], intention=Intention(), status="seeking",
        status_since=date(2026, 11, 1), updated_at=NOW,
    ).model_copy(update=changes)  # fmt: skip


def as_session(fake: FakeSession) -> AsyncSession:
    return cast(AsyncSession, fake)


async def test_the_newest_version_wins_whatever_the_order() -> None:
    fake = FakeSession()
    assert await STATIONS.apply(as_session(fake), station(3, "新名称")) is not None
    assert await STATIONS.apply(as_session(fake), station(2, "旧名称")) is None  # late and older
    assert await STATIONS.apply(as_session(fake), station(3, "重复")) is None  # the same version again
    row = fake.rows[(Station, "s1")]
    assert (row.version, row.name) == (3, "新名称")


async def test_an_erased_worker_never_comes_back() -> None:
    fake = FakeSession()
    await PASSENGERS.apply(as_session(fake), person(1))
    await PASSENGERS.erase(as_session(fake), "p1")
    assert await PASSENGERS.apply(as_session(fake), person(7)) is None
    assert fake.rows[(Passenger, "p1")].erased is True
    await PASSENGERS.erase(as_session(fake), "p2", unseen={"station_id": "s1", "province_code": "00"})
    assert await PASSENGERS.apply(as_session(fake), person(1, id="p2")) is None  # erased before it was seen


async def test_matching_keeps_what_trainings_gave_a_worker_and_drops_it_on_erasure() -> None:
    fake = FakeSession()
    await matching.apply_worker(as_session(fake), person(1))
    completed = TrainingCompleted(
        enrolment_id="e1", programme_id="g1", base_id="b1", person_id="p1", occupation_code="6-18-02-04",
        skills=["电焊"], certificate="焊工证", completed_on=date(2026, 11, 20),
    )  # fmt: skip
    await matching.add_training(as_session(fake), completed)
    await matching.apply_worker(
        as_session(fake), person(2, skills=["叉车"])
    )  # a newer profile keeps the training
    row: WorkerView = fake.rows[(WorkerView, "p1")]
    assert (row.version, row.trainings, row.trained_certificates) == (2, 1, ["焊工证"])
    assert row.person().skills == ["叉车"]
    await matching.erase_worker(as_session(fake), "p1")
    assert row.erased and row.payload == {} and row.trained_certificates == []
