"""Matching as an app: routes, the read-model consumers, and the ranking index kept in step."""

from __future__ import annotations

from fastapi import FastAPI

from libs.api.app import create_service_app
from libs.observability import MATCHING_INDEX_AGE, MATCHING_INDEX_SIZE
from libs.runtime import build_runtime
from libs.settings import Settings
from services.matching.api import router
from services.matching.consumers import matching_consumers
from services.matching.index import IndexHolder
from services.matching.models import platform
from services.matching.weights import run_learning

NAME = "matching"


def create_app(settings: Settings) -> FastAPI:
    holder = IndexHolder(
        cache=settings.data_dir / "matching-index.pickle" if settings.matching_index_cache else None
    )
    runtime = build_runtime(NAME, settings, platform)
    app = create_service_app(
        runtime,
        title="eastwest matching · 人岗匹配",
        description="人岗双向推荐（附理由）、按招聘人数的分配、报名到录用的流程。",
        routers=[router],
        consumers=matching_consumers(runtime, holder),
        background=lambda: {
            "index": holder.run(runtime.sessions, spread_every_seconds=settings.matching_spread_seconds),
            **(
                {"weights": run_learning(holder, runtime.sessions)}
                if settings.matching_weights == "learned"
                else {}
            ),
        },
    )
    app.state.index = holder
    runtime.warm_checks["index"] = lambda: holder.warm  # not ready before the first full load
    MATCHING_INDEX_SIZE.labels("jobs").set_function(lambda: holder.index.job_count)
    MATCHING_INDEX_SIZE.labels("workers").set_function(lambda: holder.index.worker_count)
    MATCHING_INDEX_AGE.set_function(holder.age_seconds)
    return app
