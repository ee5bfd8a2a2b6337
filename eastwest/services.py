"""The registry of services: the one place that knows them all."""

from __future__ import annotations

from collections.abc import Callable

from fastapi import FastAPI

from libs.settings import Settings
from services.feed.app import create_app as create_feed
from services.supply.app import create_app as create_supply

FACTORIES: dict[str, Callable[[Settings], FastAPI]] = {
    "supply": create_supply,
    "feed": create_feed,
}


def create_apps(settings: Settings, names: list[str] | None = None) -> dict[str, FastAPI]:
    return {name: FACTORIES[name](settings) for name in (names or list(FACTORIES))}
