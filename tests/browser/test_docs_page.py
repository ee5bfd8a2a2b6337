"""The API docs in a real browser, offline: Debian's Chromium (driven by Playwright's Python package, as in
test_live_page.py) opens /docs/supply, Swagger UI renders the supply operations from /openapi/supply.json,
every request stays on this host, and the page's Content-Security-Policy blocks nothing it needs. The live
board is opened too, to check that its own policy (and the framing it allows) blocks nothing either.

Skipped, with the reason, where /usr/bin/chromium is not installed (`apt-get install -y chromium`)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.browser.conftest import BOUND_MS
from tests.harness import Platform

async_api = pytest.importorskip("playwright.async_api", reason="Playwright's Python package is not installed")


class Watched:
    """What a page asked for and what the browser refused or failed at."""

    def __init__(self, page: async_api.Page) -> None:
        self.requested: list[str] = []
        self.failed: list[str] = []
        self.refused: list[str] = []
        self.console_errors: list[str] = []
        self.page_errors: list[str] = []
        page.on("request", lambda request: self.requested.append(request.url))
        page.on("requestfailed", lambda request: self.failed.append(request.url))
        page.on(
            "response",
            lambda response: (
                self.refused.append(f"{response.status} {response.url}") if response.status >= 400 else None
            ),
        )
        page.on(
            "console",
            # the browser's own guess at /favicon.ico (the board declares no icon) is not the page's doing
            lambda message: (
                self.console_errors.append(f"{message.text} {message.location}")
                if message.type == "error" and not message.location.get("url", "").endswith("/favicon.ico")
                else None
            ),
        )
        page.on("pageerror", lambda error: self.page_errors.append(str(error)))

    def check(self, base_url: str) -> None:
        assert all(url.startswith(base_url) for url in self.requested), self.requested
        assert self.failed == []
        assert self.refused == []
        blocked = [text for text in self.console_errors if "Content Security Policy" in text]
        assert blocked == [], blocked
        assert self.console_errors == []
        assert self.page_errors == []


async def test_supply_docs_render_offline(
    platform: Platform, browser: async_api.Browser, screenshots: Path
) -> None:
    context = await browser.new_context(viewport={"width": 1280, "height": 900}, locale="zh-CN")
    page = await context.new_page()
    page.set_default_timeout(BOUND_MS)
    watched = Watched(page)

    await page.goto(f"{platform.base_url}/docs/supply")
    await async_api.expect(page.locator(".swagger-ui .info .title")).to_contain_text("eastwest supply")
    operation = page.locator("#operations-supply-createJob")
    await async_api.expect(operation).to_be_visible()
    await async_api.expect(operation.locator(".opblock-summary-path")).to_contain_text("/v1/jobs")
    for operation_id in ("createEmployer", "listJobs", "closeJob", "importSupplyList"):
        await async_api.expect(page.locator(f"#operations-supply-{operation_id}")).to_have_count(1)
    # Bearer auth is declared: the Authorize button is there, and a secured operation shows its lock
    await async_api.expect(page.locator(".auth-wrapper .authorize")).to_be_visible()
    await async_api.expect(operation.locator(".authorization__btn")).to_be_visible()

    # open one operation: its request example is rendered from the schema
    await operation.locator(".opblock-summary").click()
    await async_api.expect(operation.locator(".body-param__example, .highlight-code").first).to_contain_text(
        "employer_id"
    )
    await page.screenshot(path=str(screenshots / "docs-supply.png"), full_page=False, animations="disabled")
    watched.check(platform.base_url)
    assert any(url.endswith("/docs/supply/assets/swagger-ui-bundle.js") for url in watched.requested)
    assert any(url.endswith("/openapi/supply.json") for url in watched.requested)
    await context.close()


async def test_live_board_policy_blocks_nothing(platform: Platform, browser: async_api.Browser) -> None:
    context = await browser.new_context(viewport={"width": 1280, "height": 900}, locale="zh-CN")
    page = await context.new_page()
    page.set_default_timeout(BOUND_MS)
    watched = Watched(page)
    await page.goto(f"{platform.base_url}/live?province_code=61&stream_id=docs-check")
    await async_api.expect(page.locator("#status")).to_have_attribute("data-state", "live")
    watched.check(platform.base_url)
    await context.close()
