"""demand as an app: its routes on the shared factory."""

from __future__ import annotations

from fastapi import FastAPI

from libs.api.app import create_service_app
from libs.settings import Settings
from services.demand.api import router
from services.demand.models import platform

NAME = "demand"


def create_app(settings: Settings) -> FastAPI:
    return create_service_app(
        name=NAME,
        title="eastwest demand",
        description="demand: workers (personal data), demand lists, employment status and early warnings.",
        settings=settings,
        tables=platform,
        routers=[router],
    )
