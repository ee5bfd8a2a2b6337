"""Load the demo data set through the public API, the way a real client would (validation included)."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import Any

import httpx

from eastwest.demo_data import demo_employers, demo_jobs
from eastwest.demo_history import each, load_history
from eastwest.demo_origin import STATIONS, demo_workers
from libs.auth import Role, issue_token
from libs.db import BEIJING, beijing_date
from libs.settings import Settings


async def load_origin_demo(client: httpx.AsyncClient) -> tuple[int, int, int]:
    """Stations, then their workers once demand has heard of each station (it learns them from events), and
    for each new station two direct-bus trips to its partner city."""
    stations = workers = trips = 0

    async def register(worker: dict[str, Any]) -> bool:
        return await _register(client, worker)

    for index, station in enumerate(STATIONS):
        response = await client.post("/v1/stations", json=station)
        if response.status_code == 201:
            stations += 1
            station_id = response.json()["id"]
            trips += await demo_trips(client, station_id, str(station["partner_city_code"]), index)
        elif response.status_code == 409:
            station_id = response.json()["existing_id"]
        else:
            response.raise_for_status()
        made = await each(demo_workers(station_id, station["county_code"], index, count=30), register)
        workers += sum(made)
    return stations, workers, trips


async def _register(client: httpx.AsyncClient, worker: dict[str, Any]) -> bool:
    """True when registered now, False when already there."""
    for _attempt in range(100):
        response = await client.post("/v1/persons", json=worker)
        if response.status_code != 404:  # 404: demand has not seen the station event yet
            break
        await asyncio.sleep(0.1)
    if response.status_code == 409:
        return False
    response.raise_for_status()
    return True


async def demo_trips(client: httpx.AsyncClient, station_id: str, city_code: str, index: int) -> int:
    """Two trips, 3 and 10 days out at 08:00 Beijing time, stopping at Nanjing and the partner city."""
    stops = [city_code] if city_code == "3201" else ["3201", city_code]
    made = 0
    for days in (3, 10):
        departs = datetime.combine(beijing_date() + timedelta(days=days), time(8), BEIJING)
        trip = {
            "origin_station_id": station_id,
            "destination_city_codes": stops,
            "departs_at": departs.isoformat(),
            "arrives_at": (departs + timedelta(hours=20)).isoformat(),
            "seats": 45,
            "operator": "就业帮扶直通车客运公司",
            "operator_id": f"demo-operator-{index % 2 + 1}",
            "vehicle": f"陕A·{20000 + index * 10 + days}",
            "pickup_point": "联络站门口",
        }
        for _attempt in range(100):
            response = await client.post("/v1/trips", json=trip)
            if response.status_code != 404:  # 404: bus has not seen the station event yet
                break
            await asyncio.sleep(0.1)
        response.raise_for_status()
        made += 1
    return made


@dataclass
class DemoCounts:
    employers: int
    jobs: int
    stations: int
    workers: int
    trips: int = 0
    histories: int = 0

    def __str__(self) -> str:
        return (
            f"{self.employers} employers, {self.jobs} jobs, {self.stations} stations, {self.workers} workers, "
            f"{self.trips} bus trips, {self.histories} employment histories"
        )


async def load_demo(base_url: str, settings: Settings) -> DemoCounts:
    """Idempotent: employers, stations and workers are unique by their codes; jobs only on the first load."""
    assert settings.jwt_secret is not None
    token = issue_token(
        settings.jwt_secret.get_secret_value(),
        role=Role.admin,
        sub="demo-loader",
        audience=settings.jwt_audience,
        issuer=settings.jwt_issuer,
    )
    headers = {"Authorization": f"Bearer {token}"}
    created: dict[str, str] = {}
    async with httpx.AsyncClient(base_url=base_url, headers=headers, timeout=30) as client:
        employers = demo_employers()
        for employer in employers:
            response = await client.post("/v1/employers", json=employer)
            if response.status_code == 201:
                created[str(employer["credit_code"])] = response.json()["id"]
            elif response.status_code != 409:
                response.raise_for_status()
        jobs = 0
        for job in demo_jobs(created) if len(created) == len(employers) else []:
            response = await client.post("/v1/jobs", json=job)
            response.raise_for_status()
            jobs += 1
        stations, workers, trips = await load_origin_demo(client)
        partner_cities = {
            station["id"]: station["partner_city_code"]
            for station in (await client.get("/v1/stations", params={"limit": 200}))
            .raise_for_status()
            .json()["items"]
        }
        histories = await load_history(client, partner_cities)
    return DemoCounts(len(created), jobs, stations, workers, trips, histories)
