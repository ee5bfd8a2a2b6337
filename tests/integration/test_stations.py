"""Liaison stations over HTTP: create, list, read, patch; their events on the stream; every field rule; and
who may do what, role by role, for a station in Shaanxi (61) and one in Guizhou (52)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from itertools import count
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from services.stations.models import platform as station_tables
from services.stations.schemas import normalize_phone
from tests.harness import ADMIN, PUBLIC, Platform, auth, eventually

pytestmark = pytest.mark.services("stations")

SHAANXI, GUIZHOU = "61", "52"
PROVINCES = (SHAANXI, GUIZHOU)
_serial = count(1)

# A real county per province: 西安市新城区, 贵阳市南明区; 碑林区 for a second Xi'an station.
PLACES = {SHAANXI: ("610102", "6101", "西安市新城区"), GUIZHOU: ("520102", "5201", "贵阳市南明区")}
PARTNER_CITY = {SHAANXI: "3205", GUIZHOU: "3202"}


def station_body(province: str = SHAANXI, **overrides: Any) -> dict[str, Any]:
    county, _city, place = PLACES[province]
    return {
        "name": f"{place}劳务联络站{next(_serial)}号",
        "province_code": province,
        "county_code": county,
        "partner_city_code": PARTNER_CITY[province],
        "address": f"{place}人民路 {next(_serial)} 号",
        "contact_phone": "029-88886666" if province == SHAANXI else "0851-85551234",
        **overrides,
    }


async def create(platform: Platform, body: dict[str, Any], headers: dict[str, str] = ADMIN) -> dict[str, Any]:
    response = await platform.client.post("/v1/stations", json=body, headers=headers)
    assert response.status_code == 201, response.text
    return dict(response.json())


def assert_problem(response: httpx.Response, status: int, field_name: str | None = None) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    problem = dict(response.json())
    assert problem["status"] == status and problem["title"] and problem["type"].startswith("https://")
    if field_name is not None:
        assert field_name in [error["field"] for error in problem.get("errors", [])], problem
    return problem


async def snapshot(platform: Platform) -> list[tuple[str, int]]:
    """Every station and its version, as the admin sees them: a refused request must leave this unchanged."""
    response = await platform.client.get("/v1/stations", params={"limit": 200}, headers=ADMIN)
    assert response.status_code == 200, response.text
    return sorted((item["id"], item["version"]) for item in response.json()["items"])


async def unsent_events(platform: Platform) -> int:
    outbox = station_tables.outbox
    async with platform.runtime("stations").sessions() as session:
        unsent = await session.scalar(
            select(func.count()).select_from(outbox).where(outbox.c.sent_at.is_(None))
        )
    return int(unsent or 0)


async def all_sent(platform: Platform) -> None:
    async def done() -> bool:
        return await unsent_events(platform) == 0

    await eventually(done, what="stations outbox sent")


async def last_event(platform: Platform, subject: str) -> tuple[dict[str, Any], dict[str, str]]:
    message = await platform.runtime("stations").bus.js.get_last_msg("EW", subject)
    return dict(json.loads(message.data or b"{}")), dict(message.headers or {})


# --- happy paths --------------------------------------------------------------------------------------------


async def test_create_read_list_and_patch(platform: Platform) -> None:
    body = station_body(SHAANXI, contact_phone=" 029 8888 6666 ", name="  西安市新城区　劳务联络站 ")
    station = await create(platform, body)
    assert station["name"] == "西安市新城区 劳务联络站"  # trimmed, full-width space folded
    assert station["city_code"] == "6101"  # derived from the county
    assert station["contact_phone"] == "029-88886666"
    assert (station["version"], station["active"], station["county_code"]) == (1, True, "610102")

    fetched = await platform.client.get(f"/v1/stations/{station['id']}", headers=ADMIN)
    assert fetched.status_code == 200 and fetched.json() == station

    with_city = await create(platform, station_body(SHAANXI, county_code="610103", city_code="6101"))
    assert with_city["city_code"] == "6101"
    other = await create(platform, station_body(GUIZHOU, contact_phone="+86 139 1234 5678"))
    assert other["contact_phone"] == "13912345678" and other["city_code"] == "5201"

    listed = await platform.client.get("/v1/stations", headers=ADMIN)
    assert [item["id"] for item in listed.json()["items"]] == [station["id"], with_city["id"], other["id"]]
    assert listed.json()["next_cursor"] is None
    only_guizhou = await platform.client.get("/v1/stations", params={"province_code": "52"}, headers=ADMIN)
    assert [item["id"] for item in only_guizhou.json()["items"]] == [other["id"]]

    pages: list[str] = []
    cursor: str | None = None
    while True:
        params = {"limit": "1", **({"cursor": cursor} if cursor else {})}
        page = (await platform.client.get("/v1/stations", params=params, headers=ADMIN)).json()
        pages += [item["id"] for item in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert pages == [station["id"], with_city["id"], other["id"]]

    patch = {"name": "新城区劳务联络站", "address": "西安市新城区西一路 1 号", "partner_city_code": "3201"}
    patched = await platform.client.patch(f"/v1/stations/{station['id']}", json=patch, headers=ADMIN)
    assert patched.status_code == 200, patched.text
    assert {key: patched.json()[key] for key in patch} == patch
    assert patched.json()["version"] == 2 and patched.json()["updated_at"] >= station["updated_at"]

    same = await platform.client.patch(f"/v1/stations/{station['id']}", json=patch, headers=ADMIN)
    assert same.status_code == 200 and same.json()["version"] == 2  # nothing changed, no new version

    cleared = await platform.client.patch(
        f"/v1/stations/{station['id']}", json={"address": None, "active": False}, headers=ADMIN
    )
    assert cleared.status_code == 200, cleared.text
    assert (cleared.json()["address"], cleared.json()["active"], cleared.json()["version"]) == (
        None,
        False,
        3,
    )


async def test_idempotent_create_answers_the_same_station(platform: Platform) -> None:
    body = station_body(SHAANXI)
    headers = {**ADMIN, "Idempotency-Key": "station-create-1"}
    first = await platform.client.post("/v1/stations", json=body, headers=headers)
    again = await platform.client.post("/v1/stations", json=body, headers=headers)
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json() and again.headers["idempotent-replayed"] == "true"
    assert len(await snapshot(platform)) == 1


@pytest.mark.parametrize(
    ("given", "stored"),
    [
        ("13912345678", "13912345678"),
        ("+86 139 1234 5678", "13912345678"),
        ("8613912345678", "13912345678"),
        ("029-88886666", "029-88886666"),
        ("02988886666", "029-88886666"),
        ("０２９－８８８８６６６６", "029-88886666"),
        ("010-62345678", "010-62345678"),
        ("0913-2123456", "0913-2123456"),
        ("0851-85551234-801", "0851-85551234-801"),
    ],
)
def test_phone_spellings(given: str, stored: str) -> None:
    assert normalize_phone(given) == stored


# --- events -------------------------------------------------------------------------------------------------


async def test_created_and_updated_events_reach_the_stream(platform: Platform) -> None:
    station = await create(platform, station_body(GUIZHOU))
    await all_sent(platform)
    created, headers = await last_event(platform, "ew.stations.station.created")
    assert created["type"] == "ew.stations.station.created"
    assert created["source"] == "/eastwest/stations" and created["subject"] == station["id"]
    assert headers["Nats-Msg-Id"] == created["id"]
    assert created["data"] == {
        "id": station["id"],
        "version": 1,
        "name": station["name"],
        "province_code": "52",
        "city_code": "5201",
        "county_code": "520102",
        "partner_city_code": "3202",
        "active": True,
    }
    assert "contact_phone" not in json.dumps(created) and "address" not in created["data"]

    partner = auth("partner", provinces=["52"])
    patched = await platform.client.patch(
        f"/v1/stations/{station['id']}", json={"partner_city_code": "3205", "active": False}, headers=partner
    )
    assert patched.status_code == 200, patched.text
    await all_sent(platform)
    updated, _ = await last_event(platform, "ew.stations.station.updated")
    assert updated["subject"] == station["id"] and updated["id"] != created["id"]
    assert updated["data"] == {**created["data"], "version": 2, "partner_city_code": "3205", "active": False}

    # A contact-only change is a new version too, so readers keep their copies in order.
    own = auth("station", station_id=station["id"])
    contact = await platform.client.patch(
        f"/v1/stations/{station['id']}", json={"contact_phone": "13800001111"}, headers=own
    )
    assert contact.status_code == 200 and contact.json()["version"] == 3
    await all_sent(platform)
    latest, _ = await last_event(platform, "ew.stations.station.updated")
    assert latest["data"]["version"] == 3

    # A no-op patch and a refused one publish nothing.
    async with platform.runtime("stations").sessions() as session:
        before = await session.scalar(select(func.count()).select_from(station_tables.outbox))
    await platform.client.patch(f"/v1/stations/{station['id']}", json={"active": False}, headers=ADMIN)
    await platform.client.patch(f"/v1/stations/{station['id']}", json={"active": True}, headers=own)
    async with platform.runtime("stations").sessions() as session:
        after = await session.scalar(select(func.count()).select_from(station_tables.outbox))
    assert after == before


# --- field rules --------------------------------------------------------------------------------------------

MISSING = object()

CREATE_RULES: list[tuple[str, dict[str, Any], str]] = [
    ("name missing", {"name": MISSING}, "body.name"),
    ("name blank", {"name": "   "}, "body.name"),
    ("name one character", {"name": "站"}, "body.name"),
    ("name too long", {"name": "联" * 101}, "body.name"),
    ("name too long once normalised", {"name": "㍿" * 30}, "body.name"),
    ("name with NUL", {"name": "新城区\u0000联络站"}, "body.name"),
    ("name not text", {"name": 42}, "body.name"),
    ("province missing", {"province_code": MISSING}, "body.province_code"),
    ("province is Jiangsu", {"province_code": "32", "county_code": "320505"}, "body.province_code"),
    ("province unknown", {"province_code": "99"}, "body.province_code"),
    ("province one digit", {"province_code": "6"}, "body.province_code"),
    ("province a number", {"province_code": 61}, "body.province_code"),
    ("county missing", {"county_code": MISSING}, "body.county_code"),
    ("county in Jiangsu", {"county_code": "320505"}, "body.county_code"),
    ("county in another province", {"county_code": "520102"}, "body.county_code"),
    ("county abolished in 2010", {"province_code": "11", "county_code": "110103"}, "body.county_code"),
    ("county is a prefecture", {"county_code": "610100"}, "body.county_code"),
    ("county is 市辖区", {"county_code": "610101"}, "body.county_code"),
    ("county five digits", {"county_code": "61010"}, "body.county_code"),
    ("county unknown", {"county_code": "619999"}, "body.county_code"),
    ("county outside city", {"city_code": "6102"}, "body.county_code"),
    ("city in another province", {"city_code": "5201"}, "body.city_code"),
    ("city unknown", {"city_code": "6199"}, "body.city_code"),
    ("city six digits", {"city_code": "610100"}, "body.city_code"),
    ("partner city missing", {"partner_city_code": MISSING}, "body.partner_city_code"),
    ("partner city not Jiangsu", {"partner_city_code": "6101"}, "body.partner_city_code"),
    ("partner city 3214", {"partner_city_code": "3214"}, "body.partner_city_code"),
    ("partner city null", {"partner_city_code": None}, "body.partner_city_code"),
    ("address too long", {"address": "路" * 201}, "body.address"),
    ("address blank", {"address": " "}, "body.address"),
    ("phone too short", {"contact_phone": "12345"}, "body.contact_phone"),
    ("phone 12x mobile", {"contact_phone": "12912345678"}, "body.contact_phone"),
    ("phone 3-digit area, 7 digits", {"contact_phone": "029-8888666"}, "body.contact_phone"),
    ("phone local starts with 0", {"contact_phone": "0913-0123456"}, "body.contact_phone"),
    ("phone letters", {"contact_phone": "call us"}, "body.contact_phone"),
    ("phone too long", {"contact_phone": "1" * 31}, "body.contact_phone"),
    ("unknown field", {"station_id": "x"}, "body.station_id"),
    ("active on create", {"active": False}, "body.active"),
]

PATCH_RULES: list[tuple[str, dict[str, Any], str]] = [
    ("name null", {"name": None}, "body.name"),
    ("name too long", {"name": "联" * 101}, "body.name"),
    ("partner city null", {"partner_city_code": None}, "body.partner_city_code"),
    ("partner city not Jiangsu", {"partner_city_code": "3299"}, "body.partner_city_code"),
    ("active null", {"active": None}, "body.active"),
    ("active not a flag", {"active": "maybe"}, "body.active"),
    ("phone implausible", {"contact_phone": "110"}, "body.contact_phone"),
    ("address too long", {"address": "路" * 201}, "body.address"),
    ("county is fixed", {"county_code": "610103"}, "body.county_code"),
    ("province is fixed", {"province_code": "52"}, "body.province_code"),
    ("version is not the client's", {"version": 9}, "body.version"),
]


def _with(body: dict[str, Any], overrides: dict[str, Any]) -> dict[str, Any]:
    merged = {**body, **overrides}
    return {key: value for key, value in merged.items() if value is not MISSING}


async def test_every_create_rule_names_its_field_and_stores_nothing(platform: Platform) -> None:
    wrong: list[str] = []
    for label, overrides, field_name in CREATE_RULES:
        response = await platform.client.post(
            "/v1/stations", json=_with(station_body(SHAANXI), overrides), headers=ADMIN
        )
        fields = [error["field"] for error in response.json().get("errors", [])]
        if response.status_code != 422 or field_name not in fields:
            wrong.append(f"{label}: {response.status_code} {fields}")
        elif not response.json()["detail"] or not response.headers["content-type"].startswith(
            "application/problem+json"
        ):
            wrong.append(f"{label}: not a problem document")
    assert wrong == [], wrong
    assert await snapshot(platform) == []
    assert await unsent_events(platform) == 0
    print(f"\n{len(CREATE_RULES)} create rules checked")


async def test_every_patch_rule_names_its_field_and_changes_nothing(platform: Platform) -> None:
    station = await create(platform, station_body(SHAANXI))
    before = await snapshot(platform)
    wrong: list[str] = []
    for label, body, field_name in PATCH_RULES:
        response = await platform.client.patch(f"/v1/stations/{station['id']}", json=body, headers=ADMIN)
        fields = [error["field"] for error in response.json().get("errors", [])]
        if response.status_code != 422 or field_name not in fields:
            wrong.append(f"{label}: {response.status_code} {fields}")
    assert wrong == [], wrong
    assert await snapshot(platform) == before


async def test_duplicate_name_in_a_county_is_409_on_name(platform: Platform) -> None:
    first = await create(platform, station_body(SHAANXI, name="新城区劳务联络站"))
    again = await platform.client.post(
        "/v1/stations", json=station_body(SHAANXI, name=" 新城区劳务联络站"), headers=ADMIN
    )
    problem = assert_problem(again, 409, "body.name")
    assert problem["existing_id"] == first["id"]
    # The same name in another county is another station.
    await create(platform, station_body(SHAANXI, name="新城区劳务联络站", county_code="610103"))
    second = await create(platform, station_body(SHAANXI, name="新城区第二联络站"))
    rename = await platform.client.patch(
        f"/v1/stations/{second['id']}", json={"name": "新城区劳务联络站"}, headers=ADMIN
    )
    assert_problem(rename, 409, "body.name")
    own = auth("station", station_id=second["id"])
    rename = await platform.client.patch(
        f"/v1/stations/{second['id']}", json={"name": "新城区劳务联络站"}, headers=own
    )
    assert "existing_id" not in assert_problem(rename, 409, "body.name")  # not a station it may read
    assert len(await snapshot(platform)) == 3


@pytest.mark.parametrize(
    ("params", "field_name"),
    [
        ({"province_code": "6"}, "query.province_code"),
        ({"province_code": "99"}, "query.province_code"),
        ({"limit": "0"}, "query.limit"),
        ({"limit": "201"}, "query.limit"),
        ({"cursor": "not-a-cursor"}, "query.cursor"),
    ],
    ids=["province-one-digit", "province-unknown", "limit-0", "limit-201", "cursor"],
)
async def test_list_query_rules(platform: Platform, params: dict[str, str], field_name: str) -> None:
    response = await platform.client.get("/v1/stations", params=params, headers=ADMIN)
    assert_problem(response, 422, field_name)


async def test_unknown_station_is_404(platform: Platform) -> None:
    assert_problem(await platform.client.get("/v1/stations/nope", headers=ADMIN), 404)
    patch = await platform.client.patch("/v1/stations/nope", json={"name": "新名称"}, headers=ADMIN)
    assert_problem(patch, 404)
    assert_problem(await platform.client.get("/v1/stations"), 401)


# --- scope matrix: roles × two provinces × every endpoint -----------------------------------------------------

CALLERS = ("admin", "partner61", "partner52", "station61", "station52", "recruiter", "training", "public")

# Status per caller for a target station (or body) in Shaanxi / in Guizhou.
CREATE = {
    "admin": (201, 201),
    "partner61": (201, 404),
    "partner52": (404, 201),
    "station61": (403, 403),
    "station52": (403, 403),
    "recruiter": (403, 403),
    "training": (403, 403),
    "public": (403, 403),
}
READ = {
    "admin": (200, 200),
    "partner61": (200, 404),
    "partner52": (404, 200),
    "station61": (200, 404),
    "station52": (404, 200),
    "recruiter": (404, 404),
    "training": (404, 404),
    "public": (404, 404),
}
PATCH_CONTACT = {  # name, address, contact_phone: a station may change its own
    "admin": (200, 200),
    "partner61": (200, 404),
    "partner52": (404, 200),
    "station61": (200, 404),
    "station52": (404, 200),
    "recruiter": (403, 403),
    "training": (403, 403),
    "public": (403, 403),
}
PATCH_PAIRING = {  # partner_city_code, active: not a station's own decision
    "admin": (200, 200),
    "partner61": (200, 404),
    "partner52": (404, 200),
    "station61": (403, 404),
    "station52": (404, 403),
    "recruiter": (403, 403),
    "training": (403, 403),
    "public": (403, 403),
}
# What the list shows: stations by key, for no filter / province_code=61 / province_code=52; None is 403.
# "61-closed" is an inactive station in Xi'an: the directory (recruiter, training) leaves it out.
LIST: dict[str, tuple[set[str], set[str], set[str]] | None] = {
    "admin": ({"61", "61-closed", "52"}, {"61", "61-closed"}, {"52"}),
    "partner61": ({"61", "61-closed"}, {"61", "61-closed"}, set()),
    "partner52": ({"52"}, set(), {"52"}),
    "station61": ({"61"}, {"61"}, set()),
    "station52": ({"52"}, set(), {"52"}),
    "recruiter": ({"61", "52"}, {"61"}, {"52"}),
    "training": ({"61", "52"}, {"61"}, {"52"}),
    "public": None,
}
FULL_LISTS = {"admin", "partner61", "partner52", "station61", "station52"}


@dataclass
class World:
    stations: dict[str, dict[str, Any]]
    headers: dict[str, dict[str, str]] = field(default_factory=dict)
    phones: count[int] = field(default_factory=lambda: count(10000000))


async def make_world(platform: Platform) -> World:
    shaanxi = await create(platform, station_body(SHAANXI))
    guizhou = await create(platform, station_body(GUIZHOU))
    closed = await create(platform, station_body(SHAANXI, county_code="610103"))
    response = await platform.client.patch(
        f"/v1/stations/{closed['id']}", json={"active": False}, headers=ADMIN
    )
    assert response.status_code == 200
    world = World(stations={"61": shaanxi, "52": guizhou, "61-closed": response.json()})
    world.headers = {
        "admin": ADMIN,
        "partner61": auth("partner", sub="partner-61", provinces=["61"]),
        "partner52": auth("partner", sub="partner-52", provinces=["52"]),
        "station61": auth("station", sub="station-61", station_id=shaanxi["id"]),
        "station52": auth("station", sub="station-52", station_id=guizhou["id"]),
        "recruiter": auth("recruiter", sub="recruiter-1", employer_id="employer-1"),
        "training": auth("training", sub="training-1", base_id="base-1"),
        "public": PUBLIC,
    }
    return world


@dataclass
class Tally:
    cases: int = 0
    refused: int = 0
    wrong: list[str] = field(default_factory=list)

    def check(self, label: str, response: httpx.Response, expected: int) -> bool:
        self.cases += 1
        self.refused += expected >= 400
        if response.status_code != expected:
            self.wrong.append(
                f"{label}: expected {expected}, got {response.status_code} {response.text[:200]}"
            )
            return False
        if expected >= 400 and not response.headers["content-type"].startswith("application/problem+json"):
            self.wrong.append(f"{label}: refusal is not problem+json")
            return False
        return True


async def test_scope_matrix(platform: Platform) -> None:
    """8 callers × 2 provinces × (create, read, patch contact, patch pairing) + 8 callers × 3 list filters."""
    world = await make_world(platform)
    tally = Tally()
    client = platform.client

    for caller in CALLERS:
        headers = world.headers[caller]
        for index, province in enumerate(PROVINCES):
            target = world.stations[province]
            url = f"/v1/stations/{target['id']}"

            response = await client.get(url, headers=headers)
            if tally.check(f"{caller} GET {province}", response, READ[caller][index]) and response.is_success:
                assert response.json()["contact_phone"] is not None

            before = await snapshot(platform)
            body = {
                "contact_phone": f"139{next(world.phones)}",
                "address": f"人民路 {next(world.phones)} 号",
            }
            response = await client.patch(url, json=body, headers=headers)
            expected = PATCH_CONTACT[caller][index]
            if tally.check(f"{caller} PATCH contact {province}", response, expected):
                if response.is_success:
                    assert response.json()["contact_phone"] == body["contact_phone"]
                else:
                    assert await snapshot(platform) == before, (
                        f"{caller} PATCH contact {province} changed data"
                    )

            before = await snapshot(platform)
            current = response.json()["partner_city_code"] if response.is_success else None
            pairing = {"partner_city_code": "3213" if current != "3213" else "3212"}
            response = await client.patch(url, json=pairing, headers=headers)
            expected = PATCH_PAIRING[caller][index]
            if (
                tally.check(f"{caller} PATCH pairing {province}", response, expected)
                and not response.is_success
            ):
                assert await snapshot(platform) == before, f"{caller} PATCH pairing {province} changed data"
                if response.status_code == 403 and caller.startswith("station"):
                    assert_problem(response, 403, "body.partner_city_code")

    for caller in CALLERS:
        headers = world.headers[caller]
        expected_lists = LIST[caller]
        for index, params in enumerate(({}, {"province_code": "61"}, {"province_code": "52"})):
            response = await client.get("/v1/stations", params=params, headers=headers)
            label = f"{caller} LIST {params or 'all'}"
            if not tally.check(label, response, 200 if expected_lists is not None else 403):
                continue
            if expected_lists is None:
                continue
            items = response.json()["items"]
            seen = {
                key for key, station in world.stations.items() if station["id"] in {i["id"] for i in items}
            }
            if seen != expected_lists[index] or len(items) != len(seen):
                tally.wrong.append(
                    f"{label}: saw {sorted(seen)} of {len(items)}, expected {expected_lists[index]}"
                )
            full = caller in FULL_LISTS
            if any(
                ("contact_phone" in item) is not full or ("address" in item) is not full for item in items
            ):
                tally.wrong.append(f"{label}: contact details {'missing' if full else 'leaked'}")

    for caller in CALLERS:  # creates last: they add stations the list cases above do not expect
        headers = world.headers[caller]
        for index, province in enumerate(PROVINCES):
            before = await snapshot(platform)
            response = await client.post("/v1/stations", json=station_body(province), headers=headers)
            expected = CREATE[caller][index]
            if tally.check(f"{caller} POST in {province}", response, expected) and not response.is_success:
                assert await snapshot(platform) == before, f"{caller} POST in {province} created a station"
                if response.status_code == 404:
                    assert_problem(response, 404, "body.province_code")

    assert tally.wrong == [], "\n".join(tally.wrong)
    assert tally.cases == 8 * 2 * 4 + 8 * 3 == 88
    print(
        f"\nscope matrix: {tally.cases} cases, {tally.refused} refused, {tally.cases - tally.refused} allowed"
    )


async def test_refused_writers_get_403_before_any_validation(platform: Platform) -> None:
    """A caller who may never write learns nothing about the rules (or the stations) from a 422."""
    world = await make_world(platform)
    target = world.stations["61"]["id"]
    for caller in ("recruiter", "training", "public"):
        headers = world.headers[caller]
        assert_problem(await platform.client.post("/v1/stations", json={"name": 1}, headers=headers), 403)
        response = await platform.client.patch(f"/v1/stations/{target}", json={"name": None}, headers=headers)
        assert_problem(response, 403)
    for caller in ("station61", "station52"):
        response = await platform.client.post("/v1/stations", json={}, headers=world.headers[caller])
        assert_problem(response, 403)


async def test_partner_with_two_provinces_sees_both_and_filters(platform: Platform) -> None:
    world = await make_world(platform)
    both = auth("partner", provinces=["61", "52"])
    listed = await platform.client.get("/v1/stations", headers=both)
    assert {item["id"] for item in listed.json()["items"]} == {s["id"] for s in world.stations.values()}
    outside = await platform.client.get("/v1/stations", params={"province_code": "63"}, headers=both)
    assert outside.status_code == 200 and outside.json() == {"items": [], "next_cursor": None}
