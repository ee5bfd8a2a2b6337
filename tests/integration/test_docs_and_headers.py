"""The docs pages work offline (Swagger UI from an installed package, nothing from another host), the merged
/openapi.json is served beside the per-service documents, every answer carries the security headers, and the
training service refuses a body it does not read (415) like every other service.

What the browser makes of the docs page: tests/browser/test_docs_page.py."""

from __future__ import annotations

import re

import httpx
import pytest

from eastwest.services import FACTORIES
from tests.harness import ADMIN, Platform, auth

SERVICES = list(FACTORIES)


@pytest.fixture
def database_backend() -> str:
    """Pages and headers do not depend on the database (both are covered by the other integration tests)."""
    return "sqlite"


def csp(headers: httpx.Headers) -> dict[str, str]:
    policy = headers.get("content-security-policy", "")
    directives = {}
    for directive in policy.split(";"):
        name, _, value = directive.strip().partition(" ")
        if name:
            directives[name] = value.strip()
    return directives


@pytest.mark.parametrize("service", SERVICES)
async def test_docs_page_loads_its_assets_from_this_host(platform: Platform, service: str) -> None:
    page = await platform.client.get(f"/docs/{service}")
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    html = page.text
    assert "cdn" not in html.lower()
    sources = re.findall(r'(?:src|href)="([^"]+)"', html)
    assert sources, html
    assert all(source.startswith(f"/docs/{service}/assets/") for source in sources), sources
    assert "<script>" not in html  # no inline script: the page's CSP allows scripts from 'self' only
    assert f'data-openapi-url="/openapi/{service}.json"' in html
    for source in sources:
        asset = await platform.client.get(source)
        assert asset.status_code == 200, source
        assert asset.content, source
        assert asset.headers["x-content-type-options"] == "nosniff"
    bundle = await platform.client.get(f"/docs/{service}/assets/swagger-ui-bundle.js")
    assert bundle.headers["content-type"].startswith("text/javascript")
    assert len(bundle.content) > 500_000  # the real Swagger UI, not a stub
    missing = await platform.client.get(f"/docs/{service}/assets/..%2F..%2Fsettings.py")
    assert missing.status_code == 404


async def test_docs_page_policy(platform: Platform) -> None:
    page = await platform.client.get("/docs/supply")
    policy = csp(page.headers)
    assert policy["default-src"] == "'none'"
    assert policy["script-src"] == "'self'"
    assert policy["connect-src"] == "'self'"
    assert policy["frame-ancestors"] == "'none'"
    assert page.headers["x-frame-options"] == "DENY"
    assert page.headers["x-content-type-options"] == "nosniff"
    assert page.headers["referrer-policy"] == "no-referrer"


@pytest.mark.parametrize(
    "path",
    [
        "/v1/jobs",
        "/v1/feed",
        "/openapi/supply.json",
        "/openapi.json",
        "/healthz",
        "/readyz",
        "/docs",
        "/nowhere",
    ],
)
async def test_every_answer_carries_the_security_headers(platform: Platform, path: str) -> None:
    response = await platform.client.get(path, headers=ADMIN)
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["referrer-policy"] == "no-referrer"
    assert response.headers["x-frame-options"] == "DENY"
    assert csp(response.headers)["frame-ancestors"] == "'none'"


async def test_problem_answers_from_the_middleware_carry_them_too(platform: Platform) -> None:
    """A 413 is written by the body-limit middleware, before any route runs."""
    response = await platform.client.post(
        "/v1/employers",
        content=b"{" + b" " * (2 * 1024 * 1024) + b"}",
        headers={**ADMIN, "Content-Type": "application/json"},
    )
    assert response.status_code == 413
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["x-frame-options"] == "DENY"


async def test_the_live_board_may_be_framed_by_https_pages_only(platform: Platform) -> None:
    page = await platform.client.get("/live", params={"province_code": "61"})
    assert page.status_code == 200
    policy = csp(page.headers)
    assert policy["frame-ancestors"] == "'self' https:"
    assert policy["script-src"] == "'self'" and policy["connect-src"] == "'self'"
    assert "x-frame-options" not in page.headers  # it cannot say "any HTTPS page"; the CSP does
    assert page.headers["x-content-type-options"] == "nosniff"
    assert page.headers["referrer-policy"] == "no-referrer"
    asset = await platform.client.get("/live/assets/live.js")
    assert asset.headers["x-frame-options"] == "DENY"


async def test_merged_openapi_document_is_served(platform: Platform) -> None:
    merged = await platform.client.get("/openapi.json")
    assert merged.status_code == 200
    document = merged.json()
    assert document["info"]["title"].isascii()
    assert "东西部" in document["info"]["description"]
    for service in SERVICES:
        own = (await platform.client.get(f"/openapi/{service}.json")).json()
        assert set(own["paths"]) <= set(document["paths"]), service
    assert "bearerAuth" in document["components"]["securitySchemes"]


async def test_a_single_service_serves_the_merged_document_too(platform: Platform) -> None:
    """One service per pod in production: nginx and the ingress send /openapi.json to stations."""
    app = platform.gateway.services["stations"]
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://stations"
    ) as client:
        alone = await client.get("/openapi.json")
    assert alone.status_code == 200
    gateway = (await platform.client.get("/openapi.json")).json()
    assert alone.json()["paths"].keys() == gateway["paths"].keys()


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/v1/training-bases", "name=x"),
        ("/v1/programmes", "base_id=x"),
    ],
)
async def test_training_refuses_a_body_it_does_not_read(platform: Platform, path: str, body: str) -> None:
    response = await platform.client.post(
        path, content=body, headers={**auth("training"), "Content-Type": "application/x-www-form-urlencoded"}
    )
    assert response.status_code == 415
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["expected"] == "application/json"
