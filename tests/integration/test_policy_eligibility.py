"""拟享受政策对象清单 through the real services: a history of placements across provinces (lasting 2, 3 and 4
months and more), trainings with and without an order, and an assistance base hiring more than ten
poverty-alleviated workers. The lists hold exactly the people and employers the items name, with the facts and
the day that made them eligible; an item past its end date produces nothing new while what was earned before
stays; a grant for the same person, item and period is refused the second time."""

from __future__ import annotations

import io
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import openpyxl
import pytest

from eastwest.embedded import NatsServer
from libs.db import beijing_date, months_after
from services.policy.schemas import PolicyItem
from tests.factories import employer_body, phone
from tests.harness import ADMIN, DatabaseFactory, Platform, auth, eventually, make_settings, running_platform
from tests.harness import settled as harness_settled
from tests.integration.test_demand import new_station, register, station_token
from tests.integration.test_http_contract import assert_problem
from tests.integration.test_matching import new_job
from tests.integration.test_training import base_body, programme_body

SERVICES = ("stations", "demand", "supply", "matching", "training", "policy", "monitoring")
EXTENDED = "2027-12-31"
EXTENDED_ITEMS = (
    "transport-subsidy",
    "employer-social-insurance-subsidy",
    "training-living-allowance",
    "order-training-subsidy",
    "assistance-base-award",
)


@pytest.fixture
async def platform(
    databases: DatabaseFactory, nats_server: NatsServer, clean_stream: None, tmp_path: Path
) -> AsyncIterator[Platform]:
    """The services the history passes through, with policy's sweep looking every 0.3 s."""
    settings = await make_settings(databases, nats_server.url, tmp_path, SERVICES, policy_sweep_seconds=0.3)
    async with running_platform(settings, SERVICES) as running:
        yield running


async def settled(platform: Platform) -> bool:
    return await harness_settled(platform, SERVICES)


@dataclass
class History:
    anchor: date
    base_employer: str
    training_base: str
    workers: dict[str, str] = field(default_factory=dict)  # label -> person id
    people: dict[str, dict[str, Any]] = field(default_factory=dict)  # label -> the registered worker
    starts: dict[str, date] = field(default_factory=dict)  # label -> placement start


def anchor_day(today: date) -> date:
    """A day such that every start below (up to 150 days before it) falls in its calendar year and no more than
    a year before today: matching takes no start older than that, and the base award counts a year's hires."""
    return today if today.month >= 8 else date(today.year - 1, 12, 31)


async def place(
    platform: Platform, worker: dict[str, Any], job: str, recruiter: dict[str, str], start: date
) -> str:
    token = station_token(worker["station_id"])
    application = await platform.client.post(
        "/v1/applications",
        json={"person_id": worker["id"], "job_id": job, "channel": "station"},
        headers=token,
    )
    assert application.status_code == 201, application.text
    path = f"/v1/applications/{application.json()['id']}"
    assert (await platform.client.post(f"{path}/offer", headers=recruiter)).status_code == 200
    assert (await platform.client.post(f"{path}/accept", headers=token)).status_code == 200
    placed = await platform.client.post(
        f"{path}/place", json={"start_date": start.isoformat(), "needs_transport": False}, headers=recruiter
    )
    assert placed.status_code == 200, placed.text
    return str(placed.json()["placement_id"])


async def end(platform: Platform, worker: dict[str, Any], placement_id: str, on: date) -> None:
    response = await platform.client.post(
        f"/v1/placements/{placement_id}/end",
        json={"ended_on": on.isoformat(), "reason": "合同到期"},
        headers=station_token(worker["station_id"]),
    )
    assert response.status_code == 200, response.text


async def make_history(platform: Platform) -> History:
    anchor = anchor_day(beijing_date())
    station = await new_station(platform, "52")
    created = await platform.client.post(
        "/v1/employers",
        json=employer_body(name="苏州帮扶基地电子有限公司", assistance_base=True),
        headers=ADMIN,
    )
    assert created.status_code == 201, created.text
    employer = str(created.json()["id"])
    recruiter = auth("recruiter", employer_id=employer)
    job = await new_job(platform, employer, headcount=50)
    base = (await platform.client.post("/v1/training-bases", json=base_body(), headers=ADMIN)).json()
    history = History(anchor=anchor, base_employer=employer, training_base=base["id"])

    serial = iter(range(300, 400))
    workers: dict[str, dict[str, Any]] = {}
    for label in ["two_months", "three_months", "four_months", "trained_placed", "trained_only"] + [
        f"recent_{n}" for n in range(7)
    ]:
        workers[label] = await register(platform, station, next(serial))
    workers["dibao"] = await register(platform, station, next(serial), categories=["dibao"])
    history.workers = {label: worker["id"] for label, worker in workers.items()}
    history.people = workers

    # Training: an order-based programme of the base employer; two complete it 120 days before the anchor.
    programme = await platform.client.post(
        "/v1/programmes",
        json=programme_body(
            base["id"],
            starts_on=(anchor - timedelta(days=140)).isoformat(),
            ends_on=(beijing_date() + timedelta(days=20)).isoformat(),
            order={"employer_id": employer, "job_ids": [job], "committed_hires": 5},
        ),
        headers=ADMIN,
    )
    assert programme.status_code == 201, programme.text
    for label in ("trained_placed", "trained_only"):
        enrolment = await platform.client.post(
            f"/v1/programmes/{programme.json()['id']}/enrolments",
            json={"person_id": workers[label]["id"]},
            headers=ADMIN,
        )
        assert enrolment.status_code == 201, enrolment.text
        done = await platform.client.post(
            f"/v1/enrolments/{enrolment.json()['id']}/complete",
            json={
                "completed_on": (anchor - timedelta(days=120)).isoformat(),
                "certificate": "电子设备装接工",
            },
            headers=ADMIN,
        )
        assert done.status_code == 200, done.text

    starts = {
        "two_months": anchor - timedelta(days=150),
        "three_months": anchor - timedelta(days=150),
        "four_months": anchor - timedelta(days=130),
        "dibao": anchor - timedelta(days=130),
        "trained_placed": anchor - timedelta(days=110),
        **{f"recent_{n}": anchor - timedelta(days=40) for n in range(7)},
    }
    history.starts = starts
    placements = {
        label: await place(platform, workers[label], job, recruiter, day) for label, day in starts.items()
    }
    await eventually(lambda: settled(platform), timeout=60, what="the placements reach everyone")
    await end(
        platform, workers["two_months"], placements["two_months"], starts["two_months"] + timedelta(days=70)
    )
    three = months_after(starts["three_months"], 3) + timedelta(days=5)
    await end(platform, workers["three_months"], placements["three_months"], three)
    await eventually(lambda: settled(platform), timeout=60, what="the endings reach everyone")
    return history


async def claims(platform: Platform, headers: dict[str, str] = ADMIN, **params: str) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    cursor: str | None = None
    while True:
        query = {**params, "limit": "7", **({"cursor": cursor} if cursor else {})}
        response = await platform.client.get("/v1/eligibilities", params=query, headers=headers)
        assert response.status_code == 200, response.text
        found += response.json()["items"]
        cursor = response.json()["next_cursor"]
        if cursor is None:
            return found


async def live(platform: Platform, code: str) -> dict[tuple[str, str | None], dict[str, Any]]:
    """The item's claims that stand (not withdrawn), by (beneficiary, person)."""
    return {
        (claim["beneficiary_id"], claim["person_id"]): claim
        for claim in await claims(platform, policy_code=code)
        if claim["status"] != "withdrawn"
    }


async def policy_totals(
    platform: Platform, headers: dict[str, str], period: dict[str, str]
) -> list[dict[str, Any]]:
    async def arrived() -> bool:
        response = await platform.client.get("/v1/stats/policy", params=period, headers=headers)
        return response.status_code == 200 and bool(response.json()["items"])

    await eventually(arrived, timeout=60, what="monitoring counts the claims")
    response = await platform.client.get("/v1/stats/policy", params=period, headers=headers)
    return list(response.json()["items"])


async def set_end(platform: Platform, code: str, valid_to: str, note: str) -> None:
    published = (await platform.client.get(f"/v1/policies/{code}")).json()
    body = {key: value for key, value in published.items() if key in PolicyItem.model_fields}
    response = await platform.client.put(
        f"/v1/policies/{code}",
        json={**body, "valid_to": valid_to, "base_version": published["version"], "note": note},
        headers=ADMIN,
    )
    assert response.status_code == 200, response.text


async def test_the_lists_hold_exactly_the_right_people_and_employers(platform: Platform) -> None:
    history = await make_history(platform)
    ids = history.workers
    # The seed catalogue ran until 2025-12-31 (以工代训 until 2021-12-31): this history earns nothing under it.
    assert await claims(platform) == []

    for code in EXTENDED_ITEMS:
        await set_end(platform, code, EXTENDED, "延长执行期（测试）")
    await eventually(lambda: settled(platform), timeout=60, what="the sweep assesses every occasion again")

    transport = await live(platform, "transport-subsidy")
    assert set(transport) == {
        (ids[label], ids[label]) for label in ("three_months", "four_months", "trained_placed")
    }, "two months is not enough, dibao alone is not a category of the item, the recent hires are too recent"
    three = transport[(ids["three_months"], ids["three_months"])]
    assert three["eligible_on"] == months_after(history.starts["three_months"], 3).isoformat()
    assert three["facts"]["placement.months_employed"] == 3
    assert three["facts"]["placement.cross_province"] is True
    assert three["facts"]["worker.province_code"] == "52"
    assert three["period_key"] == three["eligible_on"][:4]

    insurance = await live(platform, "employer-social-insurance-subsidy")
    poverty = [label for label in ids if label not in ("dibao", "trained_only")]
    assert set(insurance) == {(history.base_employer, ids[label]) for label in poverty}
    assert {claim["beneficiary"] for claim in insurance.values()} == {"employer"}

    allowance = await live(platform, "training-living-allowance")
    assert set(allowance) == {(ids[label], ids[label]) for label in ("trained_placed", "trained_only")}
    order = await live(platform, "order-training-subsidy")
    assert set(order) == {(history.training_base, ids["trained_placed"])}
    (ordered,) = order.values()
    assert ordered["facts"]["training.employed_by_order_employer"] is True
    assert ordered["eligible_on"] == history.starts["trained_placed"].isoformat()

    award = await live(platform, "assistance-base-award")
    assert set(award) == {(history.base_employer, None)}
    (base_award,) = award.values()
    assert base_award["occasion_id"] == f"{history.base_employer}:{history.anchor.year}"
    assert base_award["facts"]["year.hired"] >= 10
    assert base_award["eligible_on"] == (history.anchor - timedelta(days=40)).isoformat()  # the tenth hire

    assert await live(platform, "work-for-training") == {}
    assert await live(platform, "agency-service-subsidy") == {}

    # The totals per item and region reach the monthly dispatch report: exact for the station, small cells
    # hidden for everyone else.
    period = {
        "from": (history.anchor - timedelta(days=200)).strftime("%Y-%m"),
        "to": beijing_date().strftime("%Y-%m"),
    }
    station = station_token(history.people["four_months"]["station_id"])
    exact = {
        (line["policy_code"], line["region_code"]): line
        for line in await policy_totals(platform, station, period)
    }
    assert exact[("transport-subsidy", "52")]["eligible"] == 3
    assert exact[("employer-social-insurance-subsidy", "52")]["eligible"] == len(poverty)
    assert exact[("employer-social-insurance-subsidy", "52")]["pending"] == len(poverty)
    assert ("assistance-base-award", "3205") not in exact  # an employer's claim is no station's
    hidden = {
        (line["policy_code"], line["region_code"]): line
        for line in await policy_totals(platform, ADMIN, period)
    }
    assert hidden[("transport-subsidy", "52")]["eligible"] == "<5"
    assert hidden[("employer-social-insurance-subsidy", "52")]["eligible"] == len(poverty)
    assert hidden[("assistance-base-award", "3205")]["region_name"] == "苏州市"
    report = await platform.client.get(
        "/v1/reports/monthly", params={"month": beijing_date().strftime("%Y-%m")}, headers=station
    )
    assert report.status_code == 200, report.text
    assert {line["policy_code"] for line in report.json()["policy"]["items"]} >= {
        "employer-social-insurance-subsidy"
    }

    # The transport subsidy ends between the first claim and the others: what was earned before stays.
    cut = months_after(history.starts["three_months"], 3) + timedelta(days=3)
    await set_end(platform, "transport-subsidy", cut.isoformat(), "执行期截止（测试）")
    await eventually(lambda: settled(platform), timeout=60, what="the sweep applies the end date")
    assert set(await live(platform, "transport-subsidy")) == {(ids["three_months"], ids["three_months"])}
    withdrawn = [
        c for c in await claims(platform, policy_code="transport-subsidy") if c["status"] == "withdrawn"
    ]
    assert {claim["person_id"] for claim in withdrawn} == {ids["four_months"], ids["trained_placed"]}
    detail = await platform.client.get(f"/v1/eligibilities/{withdrawn[0]['id']}", headers=ADMIN)
    assert [step["what"] for step in detail.json()["history"]] == ["found", "withdrawn"]


async def test_officers_work_the_list_and_nothing_is_granted_twice(platform: Platform) -> None:
    history = await make_history(platform)
    await set_end(platform, "employer-social-insurance-subsidy", EXTENDED, "延长执行期（测试）")
    await set_end(platform, "transport-subsidy", EXTENDED, "延长执行期（测试）")
    await eventually(lambda: settled(platform), timeout=60, what="the sweep assesses every occasion again")
    station = station_token(
        (await platform.client.get(f"/v1/persons/{history.workers['four_months']}", headers=ADMIN)).json()[
            "station_id"
        ]
    )
    (transport,) = [
        c
        for c in await claims(platform, station, policy_code="transport-subsidy")
        if c["person_id"] == history.workers["four_months"]
    ]
    path = f"/v1/eligibilities/{transport['id']}/actions"
    assert (await platform.client.post(path, json={"action": "notified"}, headers=station)).status_code == 200
    assert (await platform.client.post(path, json={"action": "applied"}, headers=station)).status_code == 200
    assert_problem(
        await platform.client.post(path, json={"action": "granted", "amount": "500"}, headers=station), 403
    )
    # A placeholder amount is never paid as such: the officer gives the amount.
    assert_problem(
        await platform.client.post(path, json={"action": "granted"}, headers=ADMIN), 422, "body.amount"
    )
    partner = auth("partner", provinces=["52"])
    granted = await platform.client.post(path, json={"action": "granted", "amount": "600"}, headers=partner)
    assert granted.status_code == 200, granted.text
    assert granted.json()["status"] == "granted" and granted.json()["amount"] == "600.00"
    assert [step["what"] for step in granted.json()["history"]] == ["found", "notified", "applied", "granted"]
    assert_problem(
        await platform.client.post(path, json={"action": "granted", "amount": "600"}, headers=ADMIN), 409
    )

    assert_problem(
        await platform.client.post(path, json={"action": "refused", "reason": "重复申请"}, headers=ADMIN),
        409,
        slug="claim-state",
    )

    # The same person, item and period through another occasion: an item paid once a year per worker employed
    # a month, and a worker placed twice in one year.
    transport_item = (await platform.client.get("/v1/policies/transport-subsidy")).json()
    monthly = {key: value for key, value in transport_item.items() if key in PolicyItem.model_fields}
    monthly.update(
        code="monthly-bonus", name="测试：在岗满一个月奖励", condition="placement.months_employed >= 1"
    )
    monthly.update(valid_from="2021-01-01", valid_to=None, period="year")
    assert (await platform.client.post("/v1/policies", json=monthly, headers=ADMIN)).status_code == 201
    worker = history.people["three_months"]
    second_job = await new_job(platform, history.base_employer, headcount=5, title="质检员")
    recruiter = auth("recruiter", employer_id=history.base_employer)
    await place(platform, worker, second_job, recruiter, history.anchor - timedelta(days=50))
    await eventually(lambda: settled(platform), timeout=60, what="the new item and placement are assessed")
    twice = [c for c in await claims(platform, policy_code="monthly-bonus") if c["person_id"] == worker["id"]]
    assert len(twice) == 2 and len({c["occasion_id"] for c in twice}) == 2
    assert {c["period_key"] for c in twice} == {str(history.anchor.year)}
    granted_first = await platform.client.post(
        f"/v1/eligibilities/{twice[0]['id']}/actions",
        json={"action": "granted", "amount": "100"},
        headers=ADMIN,
    )
    assert granted_first.status_code == 200, granted_first.text
    again = await platform.client.post(
        f"/v1/eligibilities/{twice[1]['id']}/actions",
        json={"action": "granted", "amount": "100"},
        headers=ADMIN,
    )
    assert_problem(again, 409, slug="already-granted")
    assert (await platform.client.get(f"/v1/eligibilities/{twice[1]['id']}", headers=ADMIN)).json()[
        "status"
    ] == "eligible"

    # Out of scope is 404; a refusal needs its reason.
    insurance = await claims(platform, policy_code="employer-social-insurance-subsidy")
    other_station = auth("station", station_id=str(uuid.uuid4()))
    assert_problem(
        await platform.client.get(f"/v1/eligibilities/{insurance[0]['id']}", headers=other_station), 404
    )
    assert_problem(
        await platform.client.post(
            f"/v1/eligibilities/{insurance[0]['id']}/actions", json={"action": "refused"}, headers=ADMIN
        ),
        422,
        "body.reason",
    )
    recruiter = auth("recruiter", employer_id=history.base_employer)
    assert {c["policy_code"] for c in await claims(platform, recruiter)} == {
        "employer-social-insurance-subsidy"
    }
    bureau = auth("bureau", city_code="3205")
    assert len(await claims(platform, bureau)) == len(await claims(platform))

    # The export: names and masked ID numbers from demand, read now; no phone anywhere in the file.
    exported = await platform.client.get(
        "/v1/eligibilities/export", params={"policy_code": "transport-subsidy"}, headers=station
    )
    assert exported.status_code == 200, exported.text
    sheet = openpyxl.load_workbook(io.BytesIO(exported.content)).worksheets[0]
    rows = [row for row in sheet.iter_rows(values_only=True) if row and row[0]]
    header, body = rows[0], [dict(zip(rows[0], row, strict=False)) for row in rows[1:] if row[-1]]
    assert "姓名" in header and "身份证号（脱敏）" in header
    people = {row["记录编号"]: row for row in body}
    assert set(people) == {c["id"] for c in await claims(platform, station, policy_code="transport-subsidy")}
    for row in people.values():
        assert str(row["姓名"]).startswith("张") and "*" in str(row["身份证号（脱敏）"])
    text = " ".join(str(cell) for row in rows for cell in row if cell is not None)
    assert not [number for number in map(phone, range(300, 320)) if number in text], "a phone in the export"
    assert_problem(
        await platform.client.get("/v1/eligibilities/export", headers=auth("operator", operator_id="bus-1")),
        403,
    )
    assert await claims(platform, auth("bureau", city_code="3202")) == []
    assert await claims(platform, auth("partner", provinces=["61"])) == []


async def test_scope_matrix_of_every_policy_endpoint(platform: Platform) -> None:
    """Who may call what: the catalogue is public and edited by admins; a claim exists only in its scope (404
    outside it); roles with no part in the lists are refused (403); no token is 401 except on the public list."""
    history = await make_history(platform)
    await set_end(platform, "transport-subsidy", EXTENDED, "延长执行期（测试）")
    await eventually(lambda: settled(platform), timeout=60, what="the sweep assesses every occasion again")
    station_id = history.people["four_months"]["station_id"]
    claims_of_worker = [
        c
        for c in await claims(platform, policy_code="transport-subsidy")
        if c["person_id"] in (history.workers["four_months"], history.workers["three_months"])
    ]
    first, second = claims_of_worker
    roles = {
        "none": {},
        "public": auth("public"),
        "operator": auth("operator", operator_id="bus-1"),
        "admin": ADMIN,
        "partner-52": auth("partner", provinces=["52"]),
        "partner-61": auth("partner", provinces=["61"]),
        "station-own": station_token(station_id),
        "station-other": auth("station", station_id=str(uuid.uuid4())),
        "bureau-3205": auth("bureau", city_code="3205"),
        "bureau-3202": auth("bureau", city_code="3202"),
        "recruiter-base": auth("recruiter", employer_id=history.base_employer),
        "training-base": auth("training", base_id=history.training_base),
    }
    everyone_reads = {role: 200 for role in roles}
    admin_only = {role: 403 for role in roles} | {"none": 401, "admin": 200}
    claim_readers = {role: 404 for role in roles} | {
        "none": 401,
        "public": 403,
        "operator": 403,
        "admin": 200,
        "partner-52": 200,
        "station-own": 200,
        "bureau-3205": 200,
    }
    published = (await platform.client.get("/v1/policies/transport-subsidy")).json()
    body = {key: value for key, value in published.items() if key in PolicyItem.model_fields}
    reads: dict[str, tuple[str, dict[str, int]]] = {
        "GET /v1/policies": ("/v1/policies", everyone_reads),
        "GET /v1/policies/{code}": ("/v1/policies/transport-subsidy", everyone_reads),
        "GET /v1/policy-vocabulary": ("/v1/policy-vocabulary", everyone_reads),
        "GET /v1/policies/{code}/versions": ("/v1/policies/transport-subsidy/versions", admin_only),
        "GET /v1/eligibilities": (
            "/v1/eligibilities",
            {role: 200 for role in roles} | {"none": 401, "public": 403, "operator": 403},
        ),
        "GET /v1/eligibilities/{id}": (f"/v1/eligibilities/{first['id']}", claim_readers),
    }
    for name, (path, expected) in reads.items():
        for role, headers in roles.items():
            response = await platform.client.get(path, headers=headers)
            assert response.status_code == expected[role], (name, role, response.text)

    # Writes: every refusal first (nothing changes), then the callers who may.
    put = {**body, "base_version": published["version"], "note": "试改"}
    for role, headers in roles.items():
        if role == "admin":
            continue
        code = 401 if role == "none" else 403
        new = {**body, "code": f"x-{role}"}
        assert (await platform.client.post("/v1/policies", json=new, headers=headers)).status_code == code, (
            role
        )
        assert (
            await platform.client.put("/v1/policies/transport-subsidy", json=put, headers=headers)
        ).status_code == code
        if role in ("partner-52", "bureau-3205"):
            continue  # they may refuse: tried below on the second claim
        action = await platform.client.post(
            f"/v1/eligibilities/{first['id']}/actions",
            json={"action": "refused", "reason": "试改"},
            headers=headers,
        )
        # Roles that take no steps are refused before the body is read; officers outside the scope see nothing.
        refusal = {"station-own": 403, "station-other": 404, "partner-61": 404, "bureau-3202": 404}.get(
            role, code
        )
        assert action.status_code == refusal, (role, action.text)
    assert (await platform.client.get(f"/v1/eligibilities/{first['id']}", headers=ADMIN)).json()[
        "status"
    ] == "eligible"
    steps = [
        ("station-own", first, {"action": "notified"}),
        ("partner-52", first, {"action": "applied"}),
        ("admin", first, {"action": "granted", "amount": "500"}),
        ("bureau-3205", second, {"action": "refused", "reason": "已在户籍地领取"}),
    ]
    for role, claim, step in steps:
        response = await platform.client.post(
            f"/v1/eligibilities/{claim['id']}/actions", json=step, headers=roles[role]
        )
        assert response.status_code == 200, (role, response.text)
    assert (
        await platform.client.post("/v1/policies", json={**body, "code": "x-admin"}, headers=ADMIN)
    ).status_code == 201
    assert (
        await platform.client.put("/v1/policies/transport-subsidy", json=put, headers=ADMIN)
    ).status_code == 200
