"""The registry of services: the one place that knows them all."""

from __future__ import annotations

from collections.abc import Callable

import httpx
from fastapi import FastAPI

from libs.settings import Settings
from services.bus.app import create_app as create_bus
from services.bus.contacts import PassengerContacts
from services.demand.app import create_app as create_demand
from services.feed.app import create_app as create_feed
from services.matching.app import create_app as create_matching
from services.stations.app import create_app as create_stations
from services.supply.app import create_app as create_supply
from services.training.app import create_app as create_training

FACTORIES: dict[str, Callable[[Settings], FastAPI]] = {
    "stations": create_stations,
    "demand": create_demand,
    "supply": create_supply,
    "training": create_training,
    "matching": create_matching,
    "feed": create_feed,
    "bus": create_bus,
}


def create_apps(settings: Settings, names: list[str] | None = None) -> dict[str, FastAPI]:
    apps = {name: FACTORIES[name](settings) for name in (names or list(FACTORIES))}
    connect_in_process(settings, apps)
    return apps


def connect_in_process(settings: Settings, apps: dict[str, FastAPI]) -> None:
    """Services sharing this process reach each other in-process, not over the network: bus reads a
    manifest's passenger contacts straight from the demand app (with the same internal secret)."""
    if (
        "bus" in apps
        and "demand" in apps
        and "demand" not in settings.service_urls
        and settings.internal_secret is not None
    ):
        transport = httpx.ASGITransport(app=apps["demand"], raise_app_exceptions=False)
        apps["bus"].state.passenger_contacts = PassengerContacts(
            secret=settings.internal_secret.get_secret_value(), transport=transport
        )
