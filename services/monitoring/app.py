"""Monitoring as an app: the figures, the agreements, the dashboard, and the consumers that keep the facts."""

from __future__ import annotations

from fastapi import FastAPI

from libs.api.app import create_service_app
from libs.runtime import build_runtime
from libs.settings import Settings
from services.monitoring.api import router
from services.monitoring.consumers import monitoring_consumers
from services.monitoring.dashboard import dashboard_router
from services.monitoring.models import platform
from services.monitoring.report import run_publication

NAME = "monitoring"


def create_app(settings: Settings) -> FastAPI:
    runtime = build_runtime(NAME, settings, platform)
    return create_service_app(
        runtime,
        title="eastwest monitoring · 动态监测与工作调度",
        description=(
            "就业规模、稳定就业、服务漏斗、培训、直通车、预警与协作目标的统计（匿名事实，按角色限定范围，"
            "少于 5 人的数字显示为“<5”），以及合作框架协议的年度目标与进度。"
        ),
        routers=[router, dashboard_router],
        consumers=monitoring_consumers(runtime),
        background=lambda: {
            "report-publication": run_publication(runtime.sessions, settings.monitoring_report_check_seconds)
        },
    )
