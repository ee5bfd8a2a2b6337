"""/metrics on its own port (EW_METRICS_PORT): served there, not on the public port, closed when the services
stop; production refuses to start without it. (The manifests' side: tests/deploy/test_metrics_exposure.py.)"""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from eastwest.embedded import NatsServer, free_port
from eastwest.services import FACTORIES
from tests.harness import ADMIN, DatabaseFactory, make_settings, running_platform


@pytest.fixture
def database_backend() -> str:
    return "sqlite"


async def test_metrics_only_on_the_metrics_port(
    databases: DatabaseFactory, nats_server: NatsServer, clean_stream: None, tmp_path: Path
) -> None:
    port = free_port()
    settings = await make_settings(databases, nats_server.url, tmp_path, metrics_port=port)
    async with running_platform(settings) as platform:
        assert (await platform.client.get("/v1/jobs", headers=ADMIN)).status_code == 200
        public = await platform.client.get("/metrics")
        assert public.status_code == 404
        assert "ew_http_requests_total" not in public.text
        for service in ("supply", "feed"):
            app = platform.gateway.services[service]
            async with httpx.AsyncClient(
                transport=httpx.ASGITransport(app=app), base_url="http://x"
            ) as alone:
                assert (await alone.get("/metrics")).status_code == 404, service
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=10) as scraper:
            scraped = await scraper.get("/metrics")
        assert scraped.status_code == 200
        lines = [line for line in scraped.text.splitlines() if line.startswith("ew_http_requests_total{")]
        assert any('route="/v1/jobs"' in line and 'service="supply"' in line for line in lines), lines
    # the last service to stop closes the port
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=5) as scraper:
        with pytest.raises(httpx.ConnectError):
            await scraper.get("/metrics")


async def test_without_a_metrics_port_metrics_stay_on_the_public_port_in_development(
    databases: DatabaseFactory, nats_server: NatsServer, clean_stream: None, tmp_path: Path
) -> None:
    settings = await make_settings(databases, nats_server.url, tmp_path)
    async with running_platform(settings) as platform:
        response = await platform.client.get("/metrics")
    assert response.status_code == 200
    assert "ew_http_requests_total" in response.text


async def test_production_refuses_to_start_without_a_metrics_port(
    databases: DatabaseFactory, nats_server: NatsServer, tmp_path: Path
) -> None:
    settings = await make_settings(databases, nats_server.url, tmp_path, environment="prod")
    with pytest.raises(RuntimeError, match="EW_METRICS_PORT"):
        FACTORIES["supply"](settings)
    allowed = settings.model_copy(update={"metrics_port": free_port()})
    assert FACTORIES["supply"](allowed).state.runtime.settings.metrics_port == allowed.metrics_port
