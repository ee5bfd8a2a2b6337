"""Webhook signing, the address check, and the backoff schedule, without a network."""

from __future__ import annotations

import hashlib
import hmac
import ipaddress

import httpx
import pytest

from services.feed.settings import FeedSettings
from services.feed.webhooks import UnsafeAddress, backoff, is_blocked, parse_target, resolve, send, sign


def test_signature_is_hmac_sha256_of_timestamp_dot_body() -> None:
    body = '{"event":"job.published","data":{"title":"焊工"}}'.encode()
    expected = hmac.new(b"whsec-0123456789abcdef", b"1700000000." + body, hashlib.sha256).hexdigest()
    assert sign("whsec-0123456789abcdef", "1700000000", body) == f"sha256={expected}"


@pytest.mark.parametrize(
    "address",
    [
        "127.0.0.1",
        "10.1.2.3",
        "172.16.0.1",
        "192.168.1.1",
        "169.254.169.254",
        "100.64.0.1",
        "0.0.0.0",
        "224.0.0.1",
        "240.0.0.1",
        "::1",
        "fe80::1",
        "fc00::1",
        "::ffff:127.0.0.1",
        "::ffff:10.0.0.1",
        "192.0.2.1",
    ],
)
def test_private_and_special_addresses_are_blocked(address: str) -> None:
    assert is_blocked(ipaddress.ip_address(address))


@pytest.mark.parametrize("address", ["8.8.8.8", "114.114.114.114", "2400:3200::1"])
def test_public_addresses_pass(address: str) -> None:
    assert not is_blocked(ipaddress.ip_address(address))


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("ftp://example.com/x", "http"),
        ("file:///etc/passwd", "http"),
        ("http://user:secret@example.com/", "用户名或密码"),
        ("http:///x", "主机名"),
        ("http://example.com:99999/", "格式"),
    ],
)
def test_bad_urls(url: str, message: str) -> None:
    with pytest.raises(UnsafeAddress, match=message):
        parse_target(url)


async def test_literal_and_named_loopback_are_refused_unless_allowed() -> None:
    for url in ("http://127.0.0.1:8080/hook", "http://localhost/hook", "http://[::1]/"):
        with pytest.raises(UnsafeAddress, match="内网"):
            await resolve(parse_target(url), allow_private=False)
    assert await resolve(parse_target("http://127.0.0.1:8080/"), allow_private=True) == [
        ipaddress.ip_address("127.0.0.1")
    ]


async def test_send_rechecks_the_address_at_delivery_time() -> None:
    """A subscription whose host now resolves to a private address is not called: the attempt fails."""
    calls: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request)
        return httpx.Response(200)

    async with httpx.AsyncClient(transport=httpx.MockTransport(handler)) as client:
        outcome = await send(
            client,
            delivery_id="d-1",
            event="job.published",
            body={"a": 1},
            url="http://localhost:9/hook",
            secret="whsec-0123456789abcdef",
            allow_private=False,
        )
        assert not outcome.ok and outcome.status_code is None and outcome.error is not None
        assert "内网" in outcome.error and calls == []
        allowed = await send(
            client,
            delivery_id="d-1",
            event="job.published",
            body={"a": 1},
            url="http://localhost:9/hook",
            secret="whsec-0123456789abcdef",
            allow_private=True,
        )
    assert allowed.ok and len(calls) == 1
    request = calls[0]
    assert request.url.host in {"127.0.0.1", "::1"}  # pinned to the checked address
    assert request.headers["host"] == "localhost:9" and request.extensions["sni_hostname"] == "localhost"
    assert request.headers["x-ew-signature"] == sign(
        "whsec-0123456789abcdef", request.headers["x-ew-timestamp"], request.content
    )


def test_backoff_doubles() -> None:
    settings = FeedSettings(webhook_backoff_seconds=2)
    assert [backoff(settings, attempt).total_seconds() for attempt in (1, 2, 3, 4)] == [2, 4, 8, 16]
