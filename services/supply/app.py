"""Supply as an app: its routes on the shared factory."""

from __future__ import annotations

from fastapi import FastAPI

from libs.api.app import create_service_app
from libs.runtime import build_runtime
from libs.settings import Settings
from services.supply.api import router
from services.supply.consumers import supply_consumers
from services.supply.models import platform

NAME = "supply"


def create_app(settings: Settings) -> FastAPI:
    runtime = build_runtime(NAME, settings, platform)
    return create_service_app(
        runtime,
        title="eastwest supply · 岗位供给",
        description="江苏用人单位与岗位：登记、发布（含合规检查）、岗位供给清单导入。",
        routers=[router],
        consumers=supply_consumers(runtime),
    )
