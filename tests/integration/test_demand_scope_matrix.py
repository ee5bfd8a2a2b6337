"""Every demand endpoint × every role × two provinces: only admin, the worker's province and the worker's station
get in; everyone else is refused (404 for an object, 403 for a role with no business here) or left out of lists.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest

from libs.spreadsheets import write_table
from services.demand.roster import ROSTER_COLUMNS
from tests.factories import person_body
from tests.harness import ADMIN, Platform, auth
from tests.integration.test_demand import new_station

pytestmark = pytest.mark.services("stations", "demand")

ROLES = [
    "admin", "partner-61", "partner-52", "station-61", "station-52", "recruiter", "training", "bureau", "public",
]  # fmt: skip
INSIDE = {"admin", "partner-61", "station-61"}


@dataclass
class World:
    station_61: str
    station_52: str
    serial: int = 0

    def headers(self, role: str) -> dict[str, str]:
        tokens = {
            "admin": ADMIN,
            "partner-61": auth("partner", provinces=["61"]),
            "partner-52": auth("partner", provinces=["52"]),
            "station-61": auth("station", station_id=self.station_61),
            "station-52": auth("station", station_id=self.station_52),
            "recruiter": auth("recruiter", employer_id="employer-1"),
            "training": auth("training", base_id="base-1"),
            "bureau": auth("bureau", city_code="3205"),  # a Jiangsu city: no origin worker's records
            "public": auth("public"),
        }
        return tokens[role]

    def next_serial(self) -> int:
        self.serial += 1
        return self.serial


async def fresh_worker(platform: Platform, world: World) -> dict[str, Any]:
    body = person_body(world.station_61, world.next_serial())
    response = await platform.client.post("/v1/persons", json=body, headers=ADMIN)
    assert response.status_code == 201, response.text
    return dict(response.json())


def roster_file(world: World) -> bytes:
    headers = [column.header for column in ROSTER_COLUMNS]
    body = person_body("-", 10_000 + world.next_serial())
    row = {"姓名": body["name"], "身份证号": body["id_number"], "手机号": body["phone"], "同意授权": "是"}
    return write_table(headers, [[row.get(header, "") for header in headers]], "csv")


async def attempt(platform: Platform, world: World, endpoint: str, role: str) -> tuple[int, bool | None]:
    """(status, whether the 61 worker/list appears) for one request by one role."""
    client, headers = platform.client, world.headers(role)
    worker = await fresh_worker(platform, world)
    path = f"/v1/persons/{worker['id']}"
    if endpoint == "register":
        response = await client.post(
            "/v1/persons", json=person_body(world.station_61, world.next_serial()), headers=headers
        )
    elif endpoint == "read":
        response = await client.get(path, headers=headers)
    elif endpoint == "patch":
        response = await client.patch(path, json={"skills": ["砌筑"]}, headers=headers)
    elif endpoint == "status":
        response = await client.post(
            f"{path}/status", json={"status": "training", "since": "2026-11-01"}, headers=headers
        )
    elif endpoint == "history":
        response = await client.get(f"{path}/status", headers=headers)
    elif endpoint == "erase":
        response = await client.delete(path, headers=headers)
    elif endpoint == "list":
        response = await client.get("/v1/persons", params={"limit": 200}, headers=headers)
        if response.status_code == 200:
            return 200, worker["id"] in {item["id"] for item in response.json()["items"]}
    elif endpoint == "list-by-station":
        response = await client.get(
            "/v1/persons", params={"station_id": world.station_61, "limit": 200}, headers=headers
        )
        if response.status_code == 200:
            return 200, worker["id"] in {item["id"] for item in response.json()["items"]}
    elif endpoint == "warnings":
        await client.post(f"{path}/status", json={"status": "employed", "since": "2026-10-01"}, headers=ADMIN)
        await client.post(
            f"{path}/status", json={"status": "unemployed", "since": "2026-11-01"}, headers=ADMIN
        )
        response = await client.get("/v1/warnings", params={"limit": 200}, headers=headers)
        if response.status_code == 200:
            return 200, worker["id"] in {item["person_id"] for item in response.json()["items"]}
    elif endpoint == "import":
        response = await client.post(
            "/v1/demand-lists/imports",
            files={"file": ("r.csv", roster_file(world))},
            data={"station_id": world.station_61},
            headers=headers,
        )
    else:
        upload = await client.post(
            "/v1/demand-lists/imports",
            files={"file": ("r.csv", roster_file(world))},
            data={"station_id": world.station_61},
            headers=ADMIN,
        )
        list_id = upload.json()["list_id"]
        if endpoint == "list-read":
            response = await client.get(f"/v1/demand-lists/{list_id}", headers=headers)
        elif endpoint == "list-export":
            response = await client.get(f"/v1/demand-lists/{list_id}/export?format=csv", headers=headers)
        else:
            response = await client.get("/v1/demand-lists", params={"limit": 200}, headers=headers)
            if response.status_code == 200:
                return 200, list_id in {item["id"] for item in response.json()["items"]}
    return response.status_code, None


ENDPOINTS = [
    "register",
    "read",
    "patch",
    "status",
    "history",
    "erase",
    "list",
    "list-by-station",
    "warnings",
    "import",
    "list-read",
    "list-export",
    "lists",
]


@pytest.fixture
async def world(platform: Platform) -> World:
    return World(await new_station(platform, "61"), await new_station(platform, "52"))


async def test_scope_matrix(platform: Platform, world: World) -> None:
    failures = []
    cases = 0
    for endpoint in ENDPOINTS:
        for role in ROLES:
            cases += 1
            status, visible = await attempt(platform, world, endpoint, role)
            if role in INSIDE:
                ok = status in (200, 201, 204) and visible in (None, True)
            elif visible is not None:
                ok = visible is False  # a list: the 61 worker is left out
            else:
                ok = status in (403, 404)
            if not ok:
                failures.append((endpoint, role, status, visible))
    assert cases == len(ENDPOINTS) * len(ROLES) == 117
    assert failures == []
