"""Stations as an app: its routes on the shared factory."""

from __future__ import annotations

from fastapi import FastAPI

from libs.api.app import create_service_app
from libs.runtime import build_runtime
from libs.settings import Settings
from services.stations.api import router
from services.stations.models import platform

NAME = "stations"


def create_app(settings: Settings) -> FastAPI:
    runtime = build_runtime(NAME, settings, platform)
    return create_service_app(
        runtime,
        title="eastwest stations · 劳务联络站",
        description="江苏在劳务输出地设立的定点劳务联络站：登记、查询、修改（所在县、结对的江苏城市、联系方式）。",
        routers=[router],
    )
