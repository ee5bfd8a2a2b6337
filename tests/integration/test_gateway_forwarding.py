"""The live sign-up's rate limit behind the real gateway (field readiness, item 13): Debian's nginx runs a copy
of deploy/nginx/nginx.conf with its upstreams pointed at the platform on loopback.

nginx connects upstream from 127.0.0.3 (`proxy_bind`), the one address the platform trusts
(EW_TRUSTED_PROXIES); viewers call nginx from 127.0.0.2 and 127.0.0.4. A viewer who hit the limit stays
limited whatever X-Forwarded-For it sends (nginx appends the address it saw, and the platform reads the
header from the right), and a second viewer behind the same gateway has a bucket of its own (the platform
does not count everyone as the gateway).

Skipped, with the reason, where nginx is not installed (`apt-get install -y nginx`; .ci/run installs it)."""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
import re
import shutil
import socket
import subprocess
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest

from eastwest.embedded import NatsServer, free_port
from eastwest.service_names import SERVICE_NAMES
from services.demand.leads.api import TokenBucket
from tests.harness import DatabaseFactory, Platform, eventually, make_settings, running_platform
from tests.integration.test_live_board import signup

NGINX = shutil.which("nginx") or "/usr/sbin/nginx"
CONFIG = Path(__file__).resolve().parents[2] / "deploy" / "nginx" / "nginx.conf"
GATEWAY_SIDE = "127.0.0.3"  # where nginx connects to the platform from: the trusted proxy
VIEWER_A, VIEWER_B = "127.0.0.2", "127.0.0.4"

pytestmark = pytest.mark.skipif(
    not Path(NGINX).exists(), reason="nginx is not installed (apt-get install -y nginx)"
)


@pytest.fixture
def database_backend() -> str:
    """The limiter runs before anything touches a database; one backend is enough."""
    return "sqlite"


def render(upstream_port: int, listen_port: int, folder: Path) -> str:
    """deploy/nginx/nginx.conf as the gateway runs it, but on loopback: every upstream is the platform (all
    services on one port), no Docker DNS, files in `folder`, and upstream connections from GATEWAY_SIDE."""
    text = CONFIG.read_text(encoding="utf-8")
    text, upstreams = re.subn(r"server \w+:8000 resolve;", f"server 127.0.0.1:{upstream_port};", text)
    assert upstreams == len(SERVICE_NAMES), "an upstream changed shape: update this rendering"
    text = re.sub(r"^\s*resolver(_timeout)?\s[^;]*;\n", "", text, flags=re.M)
    text = text.replace("listen 8000;", f"listen 127.0.0.1:{listen_port};")
    text = text.replace(
        "error_log /dev/stderr warn;",
        f"error_log {folder}/error.log warn;\npid {folder}/nginx.pid;"
        + ("\nuser root root;" if os.geteuid() == 0 else ""),  # workers must reach the files in `folder`
    )
    temp = "".join(f"    {kind}_temp_path {folder}/{kind};\n" for kind in ("client_body", "proxy", "fastcgi"))
    temp += "".join(f"    {kind}_temp_path {folder}/{kind};\n" for kind in ("uwsgi", "scgi"))
    text = text.replace(
        "    access_log /dev/stdout ew_json;\n", f"    access_log {folder}/access.log ew_json;\n{temp}"
    )
    server_level = '        proxy_http_version 1.1;\n        proxy_set_header Connection "";\n'
    assert server_level in text
    text = text.replace(server_level, f"        proxy_bind {GATEWAY_SIDE};\n{server_level}", 1)
    return text


@contextlib.contextmanager
def nginx(upstream_port: int, folder: Path) -> Iterator[str]:
    """nginx in the foreground on a free port; stopped (by its own PID) at the end."""
    folder.mkdir(parents=True, exist_ok=True)
    port = free_port()
    config = folder / "nginx.conf"
    config.write_text(render(upstream_port, port, folder), encoding="utf-8")
    command = [NGINX, "-p", str(folder), "-c", str(config), "-e", str(folder / "error.log")]
    checked = subprocess.run([*command, "-t"], capture_output=True, text=True, check=False)
    assert checked.returncode == 0, checked.stderr
    process = subprocess.Popen([*command, "-g", "daemon off;"], stderr=subprocess.DEVNULL)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        process.wait(timeout=30)


async def listening(url: str) -> bool:
    host, port = url.removeprefix("http://").split(":")
    with contextlib.suppress(OSError), socket.create_connection((host, int(port)), timeout=1):
        return True
    return False


@pytest.fixture
async def behind_nginx(
    databases: DatabaseFactory, nats_server: NatsServer, clean_stream: None, tmp_path: Path
) -> AsyncIterator[tuple[Platform, str]]:
    """The platform trusting only GATEWAY_SIDE, and the gateway in front of it."""
    settings = await make_settings(databases, nats_server.url, tmp_path, trusted_proxies=GATEWAY_SIDE)
    async with running_platform(settings) as platform:
        port = int(platform.base_url.rsplit(":", 1)[1])
        with nginx(port, tmp_path / "nginx") as gateway:
            await eventually(lambda: listening(gateway), what="nginx listens")
            yield platform, gateway


def viewer(gateway: str, address: str) -> httpx.AsyncClient:
    """A browser on `address`, calling the gateway."""
    transport = httpx.AsyncHTTPTransport(local_address=address)
    return httpx.AsyncClient(base_url=gateway, transport=transport, timeout=30)


def random_address() -> str:
    return ".".join(str(random.randint(1, 254)) for _ in range(4))


async def test_x_forwarded_for_does_not_escape_the_rate_limit_behind_nginx(
    behind_nginx: tuple[Platform, str],
) -> None:
    platform, gateway = behind_nginx
    platform.gateway.services["demand"].state.live_signup_limiter = TokenBucket(capacity=2, per_second=0.01)
    body = signup("s", "j", "王小明", "1")  # refused by validation after the limiter: nothing is stored
    async with viewer(gateway, VIEWER_A) as a, viewer(gateway, VIEWER_B) as b:
        # through nginx to demand: the limiter, then the body's 422
        assert [(await a.post("/v1/live-signups", json=body)).status_code for _ in range(2)] == [422, 422]
        limited = await a.post("/v1/live-signups", json=body)
        assert limited.status_code == 429, limited.text
        # a new "address" per request, a list of them, another viewer's: still the same caller
        spoofs = [random_address() for _ in range(28)] + [f"{random_address()}, {VIEWER_B}", VIEWER_B]
        answers = await asyncio.gather(
            *(a.post("/v1/live-signups", json=body, headers={"X-Forwarded-For": spoof}) for spoof in spoofs)
        )
        assert [answer.status_code for answer in answers] == [429] * 30
        # another viewer behind the same gateway is not the gateway's shared bucket
        other = await b.post("/v1/live-signups", json=body)
        assert other.status_code == 422, other.text
