"""Training as an app: its routes, and the consumers that keep its read models of persons and placements."""

from __future__ import annotations

from fastapi import FastAPI

from libs.api.app import create_service_app
from libs.runtime import build_runtime
from libs.settings import Settings
from services.training.api import router
from services.training.consumers import training_consumers
from services.training.models import platform

NAME = "training"


def create_app(settings: Settings) -> FastAPI:
    runtime = build_runtime(NAME, settings, platform)
    return create_service_app(
        runtime,
        title="eastwest training · 就业培训",
        description="培训基地、订单式培训班、报名与结业，以及培训后就业率（结业后上岗人数 / 结业人数）。",
        routers=[router],
        consumers=training_consumers(runtime),
    )
