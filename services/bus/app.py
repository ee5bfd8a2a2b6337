"""Bus as an app: its routes, and the consumers that keep its read models and book placed workers."""

from __future__ import annotations

from fastapi import FastAPI

from libs.api.app import create_service_app
from libs.contacts import contacts_from_settings
from libs.runtime import build_runtime
from libs.settings import Settings
from services.bus.api import router
from services.bus.consumers import bus_consumers
from services.bus.models import platform

NAME = "bus"


def create_app(settings: Settings) -> FastAPI:
    runtime = build_runtime(NAME, settings, platform)
    app = create_service_app(
        runtime,
        title="eastwest bus · 就业帮扶直通车",
        description="直通车班次、座位预订与候补（绝不超售）、录用后自动订座、乘车名单（CSV、xlsx、打印页）。",
        routers=[router],
        consumers=bus_consumers(runtime),
    )
    # Manifests read passenger contacts from demand; the composition root swaps in an in-process client
    # when demand runs in the same process.
    app.state.person_contacts = contacts_from_settings(settings, NAME)
    return app
