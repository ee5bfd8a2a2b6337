"""Demand as an app: routes, the station consumer, and the vault that holds the personal-data keys."""

from __future__ import annotations

from fastapi import FastAPI

from libs.api.app import create_service_app
from libs.pii import vault_from_settings
from libs.runtime import build_runtime
from libs.settings import Settings
from services.demand.api import router
from services.demand.consumers import demand_consumers
from services.demand.contacts import router as contacts_router
from services.demand.follow_ups.api import router as follow_ups_router
from services.demand.insurance.api import router as insurance_router
from services.demand.leads.api import router as leads_router
from services.demand.models import platform
from services.demand.notices.api import router as notices_router
from services.demand.notices.consumers import notice_consumers
from services.demand.notices.providers import provider_from_settings
from services.demand.notices.service import run_notices

NAME = "demand"


def create_app(settings: Settings) -> FastAPI:
    if not settings.pii_keys or settings.pii_hash_key is None:
        raise RuntimeError("demand needs EW_PII_KEYS and EW_PII_HASH_KEY (see deploy/README.md)")
    vault = vault_from_settings(
        {key_id: key.get_secret_value() for key_id, key in settings.pii_keys.items()},
        settings.pii_active_key,
        settings.pii_hash_key.get_secret_value(),
    )
    runtime = build_runtime(NAME, settings, platform)
    sms = provider_from_settings(settings)  # 服务短信: the local sink unless a provider is configured
    app = create_service_app(
        runtime,
        title="eastwest demand · 就业需求清单",
        description="务工人员（个人信息加密存储、脱敏返回）、就业状态与预警、花名册导入导出、服务短信。",
        routers=[router, follow_ups_router, insurance_router, leads_router, notices_router, contacts_router],
        consumers=[*demand_consumers(runtime, vault), *notice_consumers(runtime)],
        background=lambda: {"sms": run_notices(runtime.sessions, sms, vault, settings)},
    )
    app.state.sms = sms
    app.state.vault = vault
    return app
