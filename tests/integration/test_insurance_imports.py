"""Big-data comparison (大数据比对): the social-insurance contribution file against the registered workers.
Disagreements raise warnings for the worker's station within the import; every bad row is reported; the ID
numbers are hashed on arrival and kept nowhere."""

from __future__ import annotations

import io
import uuid
from datetime import timedelta
from typing import Any

import openpyxl
import pytest
from sqlalchemy import select, text

from libs.db import beijing_date
from libs.events.contracts import PLACEMENT_CONFIRMED, PlacementConfirmed
from libs.events.envelope import new_event
from services.demand.models import Person
from tests.factories import credit_code, id_number, person_body
from tests.harness import ADMIN, Platform, auth, eventually
from tests.integration.test_demand import new_station, register, station_token

pytestmark = pytest.mark.services("stations", "demand")

HEADERS = ["身份证号", "统一社会信用代码", "缴费月份", "缴费状态"]
BUREAU = auth("bureau", city_code="3205", sub="suzhou-bureau")


def id_of(serial: int) -> str:
    """The ID number `register(platform, station, serial)` registers."""
    return str(person_body("", serial)["id_number"])


def workbook(rows: list[list[str]]) -> bytes:
    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(HEADERS)
    for row in rows:
        sheet.append(row)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


async def upload(platform: Platform, content: bytes, headers: dict[str, str], name: str = "社保.xlsx") -> Any:
    return await platform.client.post(
        "/v1/monitoring/insurance-imports", files={"file": (name, content)}, headers=headers
    )


async def employ(platform: Platform, person: dict[str, Any]) -> None:
    response = await platform.client.post(
        f"/v1/persons/{person['id']}/status",
        json={"status": "employed", "since": str(beijing_date() - timedelta(days=60))},
        headers=station_token(person["station_id"]),
    )
    assert response.status_code == 201, response.text


async def place(platform: Platform, person: dict[str, Any], employer_code: str) -> None:
    placement = PlacementConfirmed(
        placement_id=str(uuid.uuid4()), person_id=person["id"], job_id=str(uuid.uuid4()),
        start_date=beijing_date() - timedelta(days=90), employer_id="employer-1",
        employer_credit_code=employer_code, city_code="3205",
    )  # fmt: skip
    event = new_event(
        "matching", PLACEMENT_CONFIRMED, placement.placement_id, placement.model_dump(mode="json")
    )
    js = platform.runtime("demand").bus.js
    await js.publish(event.type, event.model_dump_json().encode(), headers={"Nats-Msg-Id": event.id})

    async def placed() -> bool:
        async with platform.runtime("demand").sessions() as session:
            row = await session.get(Person, person["id"])
            return row is not None and row.employer_credit_code == employer_code

    await eventually(placed, what="the placement reaches demand")


async def test_the_contribution_file_is_compared_with_the_registered_workers(platform: Platform) -> None:
    station = await new_station(platform, "61")
    stopped, unrecorded, moved, steady = [
        await register(platform, station, serial) for serial in (31, 32, 33, 34)
    ]
    # a worker born in 1962 whose county code (610502 临渭区) dates from 1995
    old = await register(platform, station, 35, id_number=id_number(35, county="610502", born="19620305"))
    for worker in (stopped, steady, old):
        await employ(platform, worker)
    employer, other = credit_code(1), credit_code(2)
    await place(platform, moved, employer)
    month = (beijing_date().replace(day=1) - timedelta(days=1)).strftime("%Y-%m")
    future = (beijing_date().replace(day=28) + timedelta(days=10)).strftime("%Y-%m")
    rows = [
        [id_of(31), employer, month, "未缴"],
        [id_of(32), other, month.replace("-", ""), "已缴"],
        [id_of(33), other, month, "正常"],
        [id_of(34), "", month, "已缴"],
        [
            id_number(35, county="610502", born="19620305"),
            employer,
            f"{month[:4]}年{int(month[5:])}月",
            "已缴",
        ],
        [id_of(36), employer, month, "已缴"],  # not registered here: counted, not kept
        [id_of(37)[:-1] + ("0" if id_of(37)[-1] != "0" else "1"), employer, month, "已缴"],
        [id_of(38), employer, f"{month[:4]}-13", "已缴"],
        [id_of(39), employer, month, "也许"],
        [id_of(40), "91320500MA0000000X", month, "已缴"],
        [id_of(41), employer, future, "已缴"],
        [id_of(31), employer, month, "已缴"],  # the same person and month twice
    ]
    response = await upload(platform, workbook(rows), ADMIN)
    assert response.status_code == 201, response.text
    result = response.json()
    assert (result["rows"], result["matched"], result["unmatched"]) == (12, 5, 1)
    assert result["months"] == [month]
    assert result["warnings"] == {
        "insurance_stopped": 1, "insurance_unrecorded_job": 1, "insurance_other_employer": 1,
    }  # fmt: skip
    assert [(error["row"], error["column"]) for error in result["rejected"]] == [
        (8, "身份证号"), (9, "缴费月份"), (10, "缴费状态"), (11, "统一社会信用代码"), (12, "缴费月份"), (13, "身份证号"),
    ]  # fmt: skip
    body = response.text
    assert not any(row[0] in body for row in rows), "an ID number in the answer"

    listed = await platform.client.get(f"/v1/warnings?station_id={station}", headers=station_token(station))
    kinds = {(w["person_id"], w["kind"]) for w in listed.json()["items"]}
    assert kinds == {
        (stopped["id"], "insurance_stopped"),
        (unrecorded["id"], "insurance_unrecorded_job"),
        (moved["id"], "insurance_other_employer"),
    }

    # the same file again (next month's run): the open warnings are not raised twice
    again = await upload(platform, workbook(rows), ADMIN)
    assert again.status_code == 201 and again.json()["warnings"] == {}

    # nothing of the file's ID numbers is stored, in plaintext or otherwise readable
    async with platform.runtime("demand").sessions() as session:
        for table in ("insurance_imports", "contributions"):
            dump = str((await session.execute(text(f"SELECT * FROM {table}"))).all())
            assert not any(row[0] in dump for row in rows), table
        kept = (await session.execute(select(text("count(*)")).select_from(text("contributions")))).scalar()
        assert kept == 5


async def test_who_may_compare_and_see_the_imports(platform: Platform) -> None:
    station = await new_station(platform, "61")
    content = workbook([[id_number(51), credit_code(3), "2026-01", "已缴"]])
    for headers in (
        station_token(station),
        auth("partner", provinces=["61"]),
        auth("recruiter", employer_id="e"),
    ):
        refused = await upload(platform, content, headers)
        assert refused.status_code == 403, refused.text
    by_admin = (await upload(platform, content, ADMIN)).json()
    by_bureau = await upload(platform, content, BUREAU)
    assert by_bureau.status_code == 201, by_bureau.text
    listed = await platform.client.get("/v1/monitoring/insurance-imports", headers=BUREAU)
    assert [item["id"] for item in listed.json()["items"]] == [by_bureau.json()["id"]]
    everything = await platform.client.get("/v1/monitoring/insurance-imports", headers=ADMIN)
    assert {item["id"] for item in everything.json()["items"]} == {by_admin["id"], by_bureau.json()["id"]}
    other = await platform.client.get(f"/v1/monitoring/insurance-imports/{by_admin['id']}", headers=BUREAU)
    assert other.status_code == 404
    mine = await platform.client.get(f"/v1/monitoring/insurance-imports/{by_admin['id']}", headers=ADMIN)
    assert mine.status_code == 200 and mine.json()["rows"] == 1

    missing = await upload(platform, b"\xe8\xba\xab\xe4\xbb\xbd\xe8\xaf\x81\xe5\x8f\xb7\n1\n", ADMIN, "x.csv")
    assert missing.status_code == 422
    assert missing.json()["errors"][0]["field"] == "form.file"
    empty = await upload(platform, b"", ADMIN)
    assert empty.status_code == 422
