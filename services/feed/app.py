"""Feed as an app: routes, the job-event consumer, and the signal that wakes streams."""

from __future__ import annotations

from fastapi import FastAPI

from libs.api.app import create_service_app
from libs.settings import Settings
from services.feed.api import router
from services.feed.consumers import feed_consumers
from services.feed.models import platform
from services.feed.service import ChangeSignal

NAME = "feed"


def create_app(settings: Settings) -> FastAPI:
    signal = ChangeSignal()
    app = create_service_app(
        name=NAME,
        title="eastwest feed · 共享岗位信息",
        description="由岗位事件生成的共享岗位信息：分页读取（版本、ETag）和 SSE 实时推送。",
        settings=settings,
        tables=platform,
        routers=[router],
        consumers=lambda runtime: feed_consumers(runtime, signal),
    )
    app.state.feed_signal = signal
    return app
