"""Every ranking endpoint of matching × every role: the worker's side (admin, its province, its station) and the
job's side (admin, its employer) get in; another province or station sees lists without the worker; anyone else
is refused (404 for an object, 403 for a role with no business there). Both databases."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest

from tests.harness import ADMIN, Platform, auth
from tests.integration.test_demand import new_station
from tests.integration.test_matching import ready_pair

pytestmark = pytest.mark.services("stations", "demand", "supply", "matching")

ROLES = [
    "admin",
    "partner-61",
    "partner-52",
    "station-61",
    "station-52",
    "recruiter",
    "recruiter-other",
    "training",
    "bureau",  # a Jiangsu city's bureau: not a party to an origin worker's ranking
    "public",
]
# who gets an answer, per endpoint; for lists, who sees the worker in it (the others get it without)
ALLOWED = {
    "recommendations": {"admin", "partner-61", "station-61"},
    "candidates": {"admin", "partner-61", "station-61", "recruiter"},
    "match": {"admin", "partner-61", "station-61", "recruiter"},
    "allocation": {"admin", "partner-61", "station-61"},
    "match-weights": {"admin"},
    "match-weights-fit": {"admin"},
}
LISTS_FOR = {"candidates": {"partner-52", "station-52"}}  # a 200 without the worker


@dataclass
class World:
    station_61: str
    station_52: str
    worker_id: str
    employer_id: str
    job_id: str

    def headers(self, role: str) -> dict[str, str]:
        return {
            "admin": ADMIN,
            "partner-61": auth("partner", provinces=["61"]),
            "partner-52": auth("partner", provinces=["52"]),
            "station-61": auth("station", station_id=self.station_61),
            "station-52": auth("station", station_id=self.station_52),
            "recruiter": auth("recruiter", employer_id=self.employer_id),
            "recruiter-other": auth("recruiter", employer_id="employer-other"),
            "training": auth("training", base_id="base-1"),
            "bureau": auth("bureau", city_code="3205"),
            "public": auth("public"),
        }[role]


async def attempt(platform: Platform, world: World, endpoint: str, role: str) -> tuple[int, Any]:
    """(status, whether the worker is in the list: None for objects) for one request by one role."""
    client, headers = platform.client, world.headers(role)
    if endpoint == "recommendations":
        response = await client.get(f"/v1/persons/{world.worker_id}/recommendations", headers=headers)
        if response.status_code == 200:
            return 200, world.job_id in {item["job_id"] for item in response.json()["items"]}
    elif endpoint == "candidates":
        response = await client.get(f"/v1/jobs/{world.job_id}/candidates", headers=headers)
        if response.status_code == 200:
            return 200, world.worker_id in {item["person_id"] for item in response.json()["items"]}
    elif endpoint == "match":
        response = await client.get(
            "/v1/matches", params={"person_id": world.worker_id, "job_id": world.job_id}, headers=headers
        )
    elif endpoint == "allocation":
        response = await client.post(
            "/v1/allocations", json={"station_id": world.station_61}, headers=headers
        )
    elif endpoint == "match-weights":
        response = await client.get("/v1/match-weights", headers=headers)
    else:
        response = await client.post("/v1/match-weights/fits", headers=headers)
    return response.status_code, None


@pytest.fixture
async def world(platform: Platform) -> World:
    station_61, worker_id, employer_id, job_id = await ready_pair(platform)
    return World(station_61, await new_station(platform, "52"), worker_id, employer_id, job_id)


async def test_scope_matrix(platform: Platform, world: World) -> None:
    failures = []
    for endpoint, allowed in ALLOWED.items():
        for role in ROLES:
            status, visible = await attempt(platform, world, endpoint, role)
            if role in allowed:
                ok = status in (200, 201) and visible in (None, True)
            elif role in LISTS_FOR.get(endpoint, set()):
                ok = status == 200 and visible is False
            else:
                ok = status in (403, 404)
            if not ok:
                failures.append((endpoint, role, status, visible))
    assert failures == []
