"""Webhooks against a receiver this test starts on loopback: signatures, retries with backoff, the delivery log,
disabling after repeated failure, the address check, scope and idempotency."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import json
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest

from services.feed.models import FeedJob
from tests.factories import job_body
from tests.harness import ADMIN, PUBLIC, Platform, auth, eventually
from tests.integration.test_job_feed_flow import create_employer

pytestmark = pytest.mark.services("supply", "feed")

SECRET = "whsec-0123456789abcdef"
PARTNER = auth("partner", sub="partner-61", provinces=["61"])


@pytest.fixture(autouse=True)
def fast_retries(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Retries after 0.2, 0.4 s; three attempts; the worker looks every 0.1 s. No scheduled snapshots."""
    monkeypatch.setenv("EW_FEED_WEBHOOK_BACKOFF_SECONDS", "0.2")
    monkeypatch.setenv("EW_FEED_WEBHOOK_MAX_ATTEMPTS", "3")
    monkeypatch.setenv("EW_FEED_WEBHOOK_POLL_SECONDS", "0.1")
    monkeypatch.setenv("EW_FEED_WEBHOOK_TIMEOUT_SECONDS", "2")
    monkeypatch.setenv("EW_FEED_SNAPSHOT_EVERY_SECONDS", "0")
    monkeypatch.setenv("EW_FEED_SNAPSHOT_DAILY_AT", "")
    yield


@dataclass
class Received:
    headers: dict[str, str]
    body: bytes
    status: int
    at: float


@dataclass
class Receiver:
    """A minimal HTTP/1.1 server on 127.0.0.1: answers with `statuses` in turn, then 200 for ever."""

    statuses: list[int] = field(default_factory=list)
    received: list[Received] = field(default_factory=list)
    port: int = 0
    _server: asyncio.Server | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hooks/eastwest"

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(asyncio.IncompleteReadError, ConnectionError):
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                lines = head.decode("latin-1").split("\r\n")
                headers = {
                    name.strip().lower(): value.strip()
                    for name, _, value in (line.partition(":") for line in lines[1:] if line)
                }
                body = await reader.readexactly(int(headers.get("content-length", "0")))
                status = self.statuses.pop(0) if self.statuses else 200
                self.received.append(Received(headers, body, status, time.monotonic()))
                writer.write(f"HTTP/1.1 {status} X\r\ncontent-length: 2\r\n\r\nok".encode())
                await writer.drain()
        writer.close()


@contextlib.asynccontextmanager
async def receiver(*statuses: int) -> AsyncIterator[Receiver]:
    server = Receiver(list(statuses))
    await server.start()
    try:
        yield server
    finally:
        await server.stop()


def verify(secret: str, received: Received) -> bool:
    timestamp = received.headers["x-ew-timestamp"]
    expected = hmac.new(
        secret.encode(), timestamp.encode() + b"." + received.body, hashlib.sha256
    ).hexdigest()
    return hmac.compare_digest(received.headers["x-ew-signature"], f"sha256={expected}")


async def subscribe(platform: Platform, body: dict[str, Any], headers: dict[str, str]) -> dict[str, Any]:
    response = await platform.client.post("/v1/subscriptions", json=body, headers=headers)
    assert response.status_code == 201, response.text
    assert SECRET not in response.text
    return dict(response.json())


async def deliveries(platform: Platform, subscription_id: str, headers: dict[str, str] = ADMIN) -> list[Any]:
    response = await platform.client.get(f"/v1/subscriptions/{subscription_id}/deliveries", headers=headers)
    assert response.status_code == 200, response.text
    return list(response.json()["items"])


async def test_signed_delivery_arrives_on_the_third_try_and_the_log_shows_it(platform: Platform) -> None:
    employer = await create_employer(platform)
    async with receiver(500, 503) as hook:
        subscription = await subscribe(
            platform,
            {
                "url": hook.url,
                "secret": SECRET,
                "filters": {"city_code": "3205", "event_types": ["job.published"]},
                "allow_private": True,
            },
            ADMIN,
        )
        assert subscription["active"] and subscription["filters"] == {
            "city_code": "3205",
            "occupation_code": None,
            "event_types": ["job.published"],
        }
        wuxi = await platform.client.post(
            "/v1/jobs", json=job_body(employer["id"], city_code="3202"), headers=ADMIN
        )
        job = await platform.client.post("/v1/jobs", json=job_body(employer["id"]), headers=ADMIN)
        assert wuxi.status_code == job.status_code == 201
        job_id = job.json()["id"]

        async def delivered() -> bool:
            return len(hook.received) >= 3

        await eventually(delivered, timeout=15, what="three attempts reach the receiver")
        await asyncio.sleep(0.3)  # nothing more comes: the third attempt succeeded, the Wuxi job is filtered
        assert [request.status for request in hook.received] == [500, 503, 200]
        first, second, third = hook.received
        assert all(verify(SECRET, request) for request in hook.received)
        assert not verify("another-secret-0123", third)
        ids = {request.headers["x-ew-delivery-id"] for request in hook.received}
        assert len(ids) == 1  # one delivery, retried
        assert {request.headers["x-ew-event"] for request in hook.received} == {"job.published"}
        assert third.headers["content-type"] == "application/json"
        body = json.loads(third.body)
        assert body["id"] in ids and body["event"] == "job.published" and body["data"]["id"] == job_id
        assert body["feed_version"] >= 1 and body["data"]["city_code"] == "3205"
        # exponential backoff: about 0.2 s, then about 0.4 s
        assert second.at - first.at >= 0.15 and third.at - second.at >= 0.3

    log = await deliveries(platform, subscription["id"])
    assert len(log) == 1
    delivery = log[0]
    assert delivery["job_id"] == job_id and delivery["status"] == "delivered" and delivery["attempts"] == 3
    assert delivery["next_attempt_at"] is None and delivery["delivered_at"] is not None
    assert [(entry["attempt"], entry["status_code"]) for entry in delivery["log"]] == [
        (1, 500),
        (2, 503),
        (3, 200),
    ]
    assert delivery["log"][0]["error"] == "接收方返回 HTTP 500" and delivery["log"][2]["error"] is None
    current = await platform.client.get(f"/v1/subscriptions/{subscription['id']}", headers=ADMIN)
    assert current.json()["active"] is True and SECRET not in current.text


async def test_repeated_failure_disables_the_subscription_with_the_reason(platform: Platform) -> None:
    employer = await create_employer(platform)
    async with receiver(500, 500, 500, 500) as hook:
        subscription = await subscribe(
            platform, {"url": hook.url, "secret": SECRET, "allow_private": True}, ADMIN
        )
        job = await platform.client.post("/v1/jobs", json=job_body(employer["id"]), headers=ADMIN)
        assert job.status_code == 201

        async def disabled() -> bool:
            current = await platform.client.get(f"/v1/subscriptions/{subscription['id']}", headers=ADMIN)
            return current.json()["active"] is False

        await eventually(disabled, timeout=15, what="the subscription is disabled")
        current = (await platform.client.get(f"/v1/subscriptions/{subscription['id']}", headers=ADMIN)).json()
        assert "3 次失败" in current["disabled_reason"] and "HTTP 500" in current["disabled_reason"]
        assert current["disabled_at"] is not None
        log = await deliveries(platform, subscription["id"])
        assert [entry["status"] for entry in log] == ["failed"]
        assert [entry["status_code"] for entry in log[0]["log"]] == [500, 500, 500]
        # a disabled subscription gets nothing more
        closed = await platform.client.post(f"/v1/jobs/{job.json()['id']}/close", headers=ADMIN)
        assert closed.status_code == 200

        async def feed_closed() -> bool:
            async with platform.runtime("feed").sessions() as session:
                row = await session.get(FeedJob, job.json()["id"])
                return row is not None and not row.listed

        await eventually(feed_closed, what="the feed records the closing")
        await asyncio.sleep(0.3)
        assert len(hook.received) == 3 and len(await deliveries(platform, subscription["id"])) == 1


async def test_private_addresses_are_refused_without_an_admin(platform: Platform) -> None:
    async with receiver() as hook:
        for url in (
            hook.url,
            f"http://localhost:{hook.port}/x",
            "http://10.0.0.8/hook",
            "http://[::1]:8080/",
        ):
            response = await platform.client.post(
                "/v1/subscriptions", json={"url": url, "secret": SECRET}, headers=PARTNER
            )
            assert response.status_code == 422, (url, response.text)
            assert response.json()["errors"][0]["field"] == "body.url", response.text
        for url in ("ftp://example.com/x", "http://user:pw@example.com/", "not a url", "http:///nohost"):
            response = await platform.client.post(
                "/v1/subscriptions", json={"url": url, "secret": SECRET}, headers=ADMIN
            )
            assert response.status_code == 422, (url, response.text)
            assert response.json()["errors"][0]["field"] == "body.url"
        # only an admin may allow private addresses
        response = await platform.client.post(
            "/v1/subscriptions",
            json={"url": hook.url, "secret": SECRET, "allow_private": True},
            headers=PARTNER,
        )
        assert response.status_code == 422 and response.json()["errors"][0]["field"] == "body.allow_private"
        allowed = await platform.client.post(
            "/v1/subscriptions",
            json={"url": hook.url, "secret": SECRET, "allow_private": True},
            headers=ADMIN,
        )
        assert allowed.status_code == 201, allowed.text
    listed = (await platform.client.get("/v1/subscriptions", headers=PARTNER)).json()["items"]
    assert listed == []  # nothing was created by the refused requests


async def test_subscription_input_scope_idempotency_and_delete(platform: Platform) -> None:
    cases = [
        ({"url": "https://hooks.example.com/x", "secret": "short"}, "body.secret"),
        ({"url": "https://hooks.example.com/x", "secret": " " + SECRET}, "body.secret"),
        ({"secret": SECRET}, "body.url"),
        ({"url": "https://hooks.example.com/x"}, "body.secret"),
        (
            {"url": "https://hooks.example.com/x", "secret": SECRET, "filters": {"city_code": "1101"}},
            "body.filters.city_code",
        ),
        (
            {
                "url": "https://hooks.example.com/x",
                "secret": SECRET,
                "filters": {"event_types": ["job.deleted"]},
            },
            "body.filters.event_types.0",
        ),
        ({"url": "https://hooks.example.com/x", "secret": SECRET, "colour": "red"}, "body.colour"),
    ]
    for body, field_name in cases:
        response = await platform.client.post("/v1/subscriptions", json=body, headers=ADMIN)
        assert response.status_code == 422, (body, response.text)
        assert field_name in [error["field"] for error in response.json()["errors"]], response.text
    for headers in (PUBLIC, auth("station", station_id="s-1"), auth("training", base_id="b-1")):
        response = await platform.client.post(
            "/v1/subscriptions", json={"url": "http://127.0.0.1:9/x", "secret": SECRET}, headers=headers
        )
        assert response.status_code == 403
        assert (await platform.client.get("/v1/subscriptions", headers=headers)).status_code == 403

    async with receiver() as hook:
        body = {"url": hook.url, "secret": SECRET, "allow_private": True}
        keyed = {**ADMIN, "Idempotency-Key": "subscribe-1"}
        first = await platform.client.post("/v1/subscriptions", json=body, headers=keyed)
        replay = await platform.client.post("/v1/subscriptions", json=body, headers=keyed)
        assert first.status_code == replay.status_code == 201
        assert replay.json()["id"] == first.json()["id"] and replay.headers["idempotent-replayed"] == "true"
        other = await platform.client.post(
            "/v1/subscriptions", json={**body, "secret": SECRET + "x"}, headers=keyed
        )
        assert other.status_code == 422
    subscription_id = first.json()["id"]
    # another partner, a recruiter: not theirs
    for headers in (PARTNER, auth("recruiter", employer_id="e-1")):
        response = await platform.client.get(f"/v1/subscriptions/{subscription_id}", headers=headers)
        assert response.status_code == 404
        response = await platform.client.delete(f"/v1/subscriptions/{subscription_id}", headers=headers)
        assert response.status_code == 404
    admin_list = (await platform.client.get("/v1/subscriptions", headers=ADMIN)).json()["items"]
    assert [item["id"] for item in admin_list] == [subscription_id]
    assert "secret" not in admin_list[0]
    assert (
        await platform.client.delete(f"/v1/subscriptions/{subscription_id}", headers=ADMIN)
    ).status_code == 204
    assert (
        await platform.client.get(f"/v1/subscriptions/{subscription_id}", headers=ADMIN)
    ).status_code == 404
    gone = await platform.client.get(f"/v1/subscriptions/{subscription_id}/deliveries", headers=ADMIN)
    assert gone.status_code == 404
