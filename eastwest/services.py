"""The registry of services: the one place that knows them all."""

from __future__ import annotations

from collections.abc import Callable

from fastapi import FastAPI

from libs.settings import Settings
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
}


def create_apps(settings: Settings, names: list[str] | None = None) -> dict[str, FastAPI]:
    return {name: FACTORIES[name](settings) for name in (names or list(FACTORIES))}
