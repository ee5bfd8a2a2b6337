"""The registry of services: the one place that knows them all."""

from __future__ import annotations

import asyncio
import functools
import secrets
from collections.abc import Callable
from typing import Any

import httpx
from fastapi import FastAPI
from fastapi.responses import JSONResponse
from pydantic import SecretStr

from eastwest.gateway import MERGED_OPENAPI_URL
from libs.api.openapi import merge_documents
from libs.contacts import PersonContacts
from libs.settings import Settings
from services.bus.app import create_app as create_bus
from services.demand.app import create_app as create_demand
from services.feed.app import create_app as create_feed
from services.matching.app import create_app as create_matching
from services.monitoring.app import create_app as create_monitoring
from services.policy.app import create_app as create_policy
from services.stations.app import create_app as create_stations
from services.supply.app import create_app as create_supply
from services.training.app import create_app as create_training

_SERVICES: dict[str, Callable[[Settings], FastAPI]] = {
    "stations": create_stations,
    "demand": create_demand,
    "supply": create_supply,
    "training": create_training,
    "matching": create_matching,
    "feed": create_feed,
    "bus": create_bus,
    "monitoring": create_monitoring,
    "policy": create_policy,
}


def throwaway_settings() -> Settings:
    """Settings for building apps only to describe them: an in-memory database, random keys, no peers."""
    throwaway: dict[str, Any] = {
        "environment": "dev",
        "database_url": "sqlite+aiosqlite:///:memory:",
        "database_urls": {},
        "jwt_secret": SecretStr(secrets.token_hex(32)),
        "jwt_public_key": None,
        "jwt_jwks_url": None,
        "pii_keys": {"k1": SecretStr(secrets.token_hex(32))},
        "pii_active_key": "k1",
        "pii_hash_key": SecretStr(secrets.token_hex(32)),
        "internal_secret": SecretStr(secrets.token_hex(32)),
        "service_urls": {},
        "metrics_port": None,
    }
    return Settings(**throwaway)


@functools.cache
def service_openapi() -> dict[str, dict[str, Any]]:
    """Each service's own OpenAPI document, from its app built with throwaway settings, never started."""
    settings = throwaway_settings()
    return {name: factory(settings).openapi() for name, factory in _SERVICES.items()}


@functools.cache
def platform_openapi() -> dict[str, Any]:
    """The merged OpenAPI document of this release, for a service that runs alone (one per pod). The same
    document the all-in-one gateway serves from its running services."""
    return merge_documents(service_openapi())


def _serving_platform_openapi(factory: Callable[[Settings], FastAPI]) -> Callable[[Settings], FastAPI]:
    """Every service also answers /openapi.json with the whole platform's document (the image holds every
    service), so production routes that path to one of them (deploy/nginx/nginx.conf, k8s ingress)."""

    def create(settings: Settings) -> FastAPI:
        app = factory(settings)

        @app.get(MERGED_OPENAPI_URL, include_in_schema=False)
        async def openapi() -> JSONResponse:
            return JSONResponse(await asyncio.to_thread(platform_openapi))

        return app

    return create


FACTORIES: dict[str, Callable[[Settings], FastAPI]] = {
    name: _serving_platform_openapi(factory) for name, factory in _SERVICES.items()
}


def create_apps(settings: Settings, names: list[str] | None = None) -> dict[str, FastAPI]:
    apps = {name: FACTORIES[name](settings) for name in (names or list(FACTORIES))}
    connect_in_process(settings, apps)
    return apps


def connect_in_process(settings: Settings, apps: dict[str, FastAPI]) -> None:
    """Services sharing this process reach each other in-process, not over the network: bus (a manifest's
    passengers) and policy (an eligible-for-policy list's export) read contacts straight from the demand app,
    with the same internal secret."""
    if "demand" not in apps or "demand" in settings.service_urls or settings.internal_secret is None:
        return
    for reader in ("bus", "policy"):
        if reader in apps:
            transport = httpx.ASGITransport(app=apps["demand"], raise_app_exceptions=False)
            apps[reader].state.person_contacts = PersonContacts(
                secret=settings.internal_secret.get_secret_value(), transport=transport, caller=reader
            )
