"""training as an app: its routes on the shared factory."""

from __future__ import annotations

from fastapi import FastAPI

from libs.api.app import create_service_app
from libs.settings import Settings
from services.training.api import router
from services.training.models import platform

NAME = "training"


def create_app(settings: Settings) -> FastAPI:
    return create_service_app(
        name=NAME,
        title="eastwest training",
        description="training: training bases, order-based programmes, enrolments and completions.",
        settings=settings,
        tables=platform,
        routers=[router],
    )
