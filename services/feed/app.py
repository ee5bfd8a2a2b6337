"""Feed as an app: routes, the job and worker consumers, the snapshot schedule and the webhook worker."""

from __future__ import annotations

from fastapi import FastAPI

from libs.api.app import create_service_app
from libs.api.etag import RenderedPages
from libs.observability import SSE_STREAMS
from libs.runtime import build_runtime
from libs.settings import Settings
from services.feed.api import router
from services.feed.background import DeliveryWorker, run_expiry, run_schedule
from services.feed.consumers import feed_consumers
from services.feed.editions import DemandIndex
from services.feed.live.api import router as live_router
from services.feed.live.consumers import live_consumers
from services.feed.live.service import FeaturedPins
from services.feed.models import platform
from services.feed.service import ChangeSignal
from services.feed.settings import FeedSettings, feed_settings_from_environment
from services.feed.streaming import ChangeHub

NAME = "feed"

__all__ = ["NAME", "FeedSettings", "create_app"]


def create_app(settings: Settings, feed_settings: FeedSettings | None = None) -> FastAPI:
    """`feed_settings` defaults to `FeedSettings()` overridden by `EW_FEED_*` variables (services/feed/settings.py):
    snapshots every 3600 s and daily at 08:00 Beijing time, webhook retries after 2, 4, 8 … s, 8 attempts."""
    feed = feed_settings or feed_settings_from_environment()
    runtime = build_runtime(NAME, settings, platform)
    signal = ChangeSignal()
    delivery = DeliveryWorker(runtime.sessions, feed)
    pins = FeaturedPins()
    hub = ChangeHub(runtime, signal, refreshers=[pins.refresh])

    def changed() -> None:
        signal.notify()
        delivery.wake()

    app = create_service_app(
        runtime,
        title="eastwest feed · 共享岗位信息",
        description=(
            "由岗位事件生成的共享岗位信息：分页读取（版本、ETag）、SSE 实时推送、定期发布的编号快照"
            "（JSON、schema.org JSON-LD、岗位供给清单 xlsx）与增量变更、按省份需求排序的省份版、签名的 Webhook 推送。"
        ),
        routers=[router, live_router],
        consumers=[
            *feed_consumers(runtime, signal, delivery.wake, feed.posting_lifetime_days),
            *live_consumers(runtime),
        ],
        background=lambda: {
            "snapshots": run_schedule(runtime.sessions, feed),
            "expiry": run_expiry(runtime.sessions, feed, changed),
            "webhooks": delivery.run(),
            "stream-hub": hub.run(),
        },
    )
    SSE_STREAMS.set_function(lambda: hub.streams)
    app.state.feed_signal = signal
    app.state.feed_hub = hub
    app.state.featured_pins = pins
    app.state.feed_settings = feed
    app.state.demand_index = DemandIndex()
    app.state.feed_pages = RenderedPages()
    app.state.delivery_worker = delivery
    return app
