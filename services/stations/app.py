"""stations as an app: its routes on the shared factory."""

from __future__ import annotations

from fastapi import FastAPI

from libs.api.app import create_service_app
from libs.settings import Settings
from services.stations.api import router
from services.stations.models import platform

NAME = "stations"


def create_app(settings: Settings) -> FastAPI:
    return create_service_app(
        name=NAME,
        title="eastwest stations",
        description="stations: the labour liaison stations Jiangsu runs in origin provinces.",
        settings=settings,
        tables=platform,
        routers=[router],
    )
