"""What every browser test shares: Debian's Chromium driven by Playwright's Python package (never
`playwright install`: the system browser is used), one SQLite platform, a folder for screenshots.

Skipped, with the reason, where /usr/bin/chromium is not installed (`apt-get install -y chromium`; add
`fonts-noto-cjk` so Chinese renders in the screenshots)."""

from __future__ import annotations

import os
import re
import subprocess
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
BOUND_MS = 10_000  # a bound for things to happen, not a timing assertion


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    if CHROMIUM.exists():
        return
    skip = pytest.mark.skip(
        reason="Debian's Chromium is not installed at /usr/bin/chromium (apt-get install -y chromium)"
    )
    for item in items:
        if Path(str(item.fspath)).parent == Path(__file__).parent:
            item.add_marker(skip)


@pytest.fixture
def database_backend() -> str:
    """The pages are what these tests are about; both databases are covered by the integration tests."""
    return "sqlite"


@pytest.fixture
def screenshots(tmp_path: Path) -> Path:
    folder = Path(os.environ.get("EW_LIVE_SCREENSHOT_DIR") or tmp_path)
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def _debian_chromium_major() -> str:
    """The system browser's major version (`chromium --version`), to be sure that is the one driven."""
    output = subprocess.run([str(CHROMIUM), "--version"], capture_output=True, text=True, check=True).stdout
    match = re.search(r"(\d+)\.\d+\.\d+", output)
    assert match is not None, output
    return match.group(1)


@pytest.fixture
async def browser() -> AsyncIterator[Any]:
    async_api = pytest.importorskip(
        "playwright.async_api", reason="Playwright's Python package is not installed"
    )
    async with async_api.async_playwright() as playwright:
        chromium = await playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        try:
            assert chromium.version.split(".")[0] == _debian_chromium_major()
            yield chromium
        finally:
            await chromium.close()
