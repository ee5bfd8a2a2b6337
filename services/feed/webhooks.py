"""Webhooks: subscriptions, deliveries written with the feed change they carry, signing, sending, retries.

A delivery is a POST of JSON with

    X-EW-Signature: sha256=<hex HMAC-SHA256 of "<X-EW-Timestamp>.<raw body>" keyed with the secret>
    X-EW-Timestamp: <unix seconds>      X-EW-Delivery-Id: <id, the same on every retry>
    X-EW-Event: job.published | job.updated | job.closed

Any 2xx is success; anything else (other statuses, redirects — never followed —, timeouts, refused
connections, an address that became private) is a failed attempt, retried after backoff·2^(attempt−1)
seconds until the attempts are used up; then the delivery is `failed` and the subscription is disabled with
the reason. Receivers should verify the signature, reject stale timestamps, and de-duplicate on the delivery
id (delivery is at least once) and order by `feed_version`.

Server-side request forgery: the URL must be http(s) without credentials, and every address its host
resolves to must be public (not private, loopback, link-local, multicast, reserved or otherwise non-global)
unless an admin created the subscription with `allow_private`. It is checked when the subscription is
created and again at every attempt, and the request goes to the address that was checked (the host name is
kept for the Host header and TLS), so DNS cannot swap in another address between check and connect.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import ipaddress
import json
import socket
import time
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import httpx
from sqlalchemy.ext.asyncio import AsyncSession

from libs.api.problems import not_found, validation_problem
from libs.auth import Principal, Role, require_role
from libs.db import utcnow
from libs.reference.occupations import is_occupation_code
from services.feed import repository
from services.feed.models import Delivery, DeliveryAttempt, FeedChange, Subscription
from services.feed.schemas import EVENT_TYPES, SubscriptionCreate
from services.feed.settings import FeedSettings

PENDING = "pending"
DELIVERED = "delivered"
FAILED = "failed"
CANCELLED = "cancelled"  # still pending when its subscription was disabled
USER_AGENT = "eastwest-webhooks/1"
RESOLVE_TIMEOUT = 5.0

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


class UnsafeAddress(Exception):
    """The URL may not be called; the message is Chinese and names why."""


def sign(secret: str, timestamp: str, body: bytes) -> str:
    digest = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    return f"sha256={digest}"


def is_blocked(address: IPAddress) -> bool:
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return (
        address.is_private
        or address.is_loopback
        or address.is_link_local
        or address.is_multicast
        or address.is_reserved
        or address.is_unspecified
        or not address.is_global
    )


@dataclass(frozen=True)
class Target:
    url: str
    host: str
    port: int


def parse_target(url: str) -> Target:
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as error:
        raise UnsafeAddress("地址格式不正确") from error
    if parts.scheme not in ("http", "https"):
        raise UnsafeAddress("地址必须以 http:// 或 https:// 开头")
    if not parts.hostname:
        raise UnsafeAddress("地址缺少主机名")
    if parts.username is not None or parts.password is not None:
        raise UnsafeAddress("地址中不能包含用户名或密码")
    return Target(url, parts.hostname, port or (443 if parts.scheme == "https" else 80))


async def resolve(target: Target, *, allow_private: bool) -> list[IPAddress]:
    """Every address the host resolves to; all must be public unless private ones are allowed."""
    loop = asyncio.get_running_loop()
    try:
        async with asyncio.timeout(RESOLVE_TIMEOUT):
            infos = await loop.getaddrinfo(target.host, target.port, type=socket.SOCK_STREAM)
    except (OSError, TimeoutError) as error:
        raise UnsafeAddress(f"无法解析主机名 {target.host}") from error
    addresses: list[IPAddress] = []
    for info in infos:
        address = ipaddress.ip_address(str(info[4][0]).split("%")[0])
        if address not in addresses:
            addresses.append(address)
    if not addresses:
        raise UnsafeAddress(f"无法解析主机名 {target.host}")
    if not allow_private:
        blocked = [str(address) for address in addresses if is_blocked(address)]
        if blocked:
            raise UnsafeAddress(
                f"{target.host} 解析到内网、本机或保留地址（{'、'.join(blocked)}），不能作为推送地址"
            )
    return addresses


# --- subscriptions ------------------------------------------------------------------------------------------

SUBSCRIBER_ROLES = (Role.admin, Role.partner, Role.recruiter)


async def create_subscription(
    session: AsyncSession, caller: Principal, data: SubscriptionCreate
) -> Subscription:
    require_role(caller, *SUBSCRIBER_ROLES)
    if data.allow_private and not caller.is_admin:
        raise validation_problem("body.allow_private", "admin_only", "只有管理员可以允许内网或本机地址")
    try:
        await resolve(parse_target(data.url), allow_private=data.allow_private)
    except UnsafeAddress as error:
        raise validation_problem("body.url", "unsafe_url", str(error)) from error
    filters = data.filters
    if filters.occupation_code is not None and not is_occupation_code(filters.occupation_code):
        raise validation_problem(
            "body.filters.occupation_code", "unknown_occupation", "职业代码不在职业分类大典代码表中"
        )
    now = utcnow()
    subscription = Subscription(
        id=str(uuid.uuid4()),
        owner_sub=caller.sub,
        owner_role=caller.role.value,
        employer_id=caller.employer_id if caller.role is Role.recruiter else None,
        url=data.url,
        secret=data.secret,
        city_code=filters.city_code,
        occupation_code=filters.occupation_code,
        event_types=sorted(set(filters.event_types or EVENT_TYPES)),
        allow_private=data.allow_private,
        active=True,
        disabled_reason=None,
        disabled_at=None,
        created_at=now,
        updated_at=now,
    )
    session.add(subscription)
    await session.flush()
    return subscription


def owner_filter(caller: Principal) -> dict[str, str | None]:
    """Admins see every subscription, recruiters their employer's, partners their own."""
    require_role(caller, *SUBSCRIBER_ROLES)
    if caller.is_admin:
        return {"owner_sub": None, "employer_id": None}
    if caller.role is Role.recruiter:
        return {"owner_sub": None, "employer_id": caller.employer_id}
    return {"owner_sub": caller.sub, "employer_id": None}


async def subscription_in_scope(
    session: AsyncSession, caller: Principal, subscription_id: str
) -> Subscription:
    scope = owner_filter(caller)
    subscription = await repository.get_subscription(session, subscription_id)
    if (
        subscription is None
        or (scope["owner_sub"] is not None and subscription.owner_sub != scope["owner_sub"])
        or (scope["employer_id"] is not None and subscription.employer_id != scope["employer_id"])
    ):
        raise not_found("订阅")
    return subscription


def wants(subscription: Subscription, change: FeedChange) -> bool:
    return (
        change.kind in subscription.event_types
        and (subscription.city_code is None or subscription.city_code == change.city_code)
        and (subscription.occupation_code is None or subscription.occupation_code == change.occupation_code)
    )


def delivery_body(delivery_id: str, change: FeedChange) -> dict[str, Any]:
    return {
        "id": delivery_id,
        "event": change.kind,
        "feed_version": change.seq,
        "created_at": change.created_at.isoformat(),
        "data": change.payload,
    }


async def enqueue_deliveries(session: AsyncSession, change: FeedChange) -> int:
    """One delivery per matching active subscription, in the transaction that records the change."""
    count = 0
    for subscription in await repository.active_subscriptions(session):
        if not wants(subscription, change):
            continue
        delivery_id = str(uuid.uuid4())
        session.add(
            Delivery(
                id=delivery_id,
                subscription_id=subscription.id,
                change_seq=change.seq,
                event=change.kind,
                job_id=change.job_id,
                body=delivery_body(delivery_id, change),
                status=PENDING,
                attempts=0,
                next_attempt_at=change.created_at,
                created_at=change.created_at,
            )
        )
        count += 1
    if count:
        await session.flush()
    return count


# --- sending ------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Outcome:
    status_code: int | None
    error: str | None
    duration_ms: int

    @property
    def ok(self) -> bool:
        return self.error is None and self.status_code is not None and 200 <= self.status_code < 300


def _describe(error: Exception) -> str:
    if isinstance(error, httpx.TimeoutException):
        return "接收方超时未响应"
    if isinstance(error, httpx.ConnectError):
        return "无法连接接收方"
    return f"请求失败：{type(error).__name__}"


async def send(
    client: httpx.AsyncClient,
    *,
    delivery_id: str,
    event: str,
    body: dict[str, Any],
    url: str,
    secret: str,
    allow_private: bool,
) -> Outcome:
    """One attempt: re-check the address, then POST to exactly that address."""
    started = time.perf_counter()

    def outcome(status_code: int | None, error: str | None) -> Outcome:
        return Outcome(status_code, error, int((time.perf_counter() - started) * 1000))

    try:
        target = parse_target(url)
        addresses = await resolve(target, allow_private=allow_private)
    except UnsafeAddress as error:
        return outcome(None, str(error))
    raw = json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()
    timestamp = str(int(time.time()))
    pinned = httpx.URL(url).copy_with(host=str(addresses[0]))
    default_port = target.port == (443 if pinned.scheme == "https" else 80)
    headers = {
        "Host": target.host if default_port else f"{target.host}:{target.port}",
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        "X-EW-Signature": sign(secret, timestamp, raw),
        "X-EW-Timestamp": timestamp,
        "X-EW-Delivery-Id": delivery_id,
        "X-EW-Event": event,
    }
    request = client.build_request(
        "POST", pinned, content=raw, headers=headers, extensions={"sni_hostname": target.host}
    )
    try:
        response = await client.send(request, follow_redirects=False)
        await response.aclose()
    except httpx.HTTPError as error:
        return outcome(None, _describe(error))
    if 300 <= response.status_code < 400:
        return outcome(response.status_code, "接收方返回重定向，推送不跟随重定向")
    if not 200 <= response.status_code < 300:
        return outcome(response.status_code, f"接收方返回 HTTP {response.status_code}")
    return outcome(response.status_code, None)


def backoff(settings: FeedSettings, attempts: int) -> timedelta:
    return timedelta(seconds=settings.webhook_backoff_seconds * 2 ** (attempts - 1))


async def record_attempt(
    session: AsyncSession, delivery_id: str, result: Outcome, settings: FeedSettings, now: datetime
) -> None:
    """Log the attempt; schedule the retry, or give up and disable the subscription with the reason."""
    delivery = await repository.get_delivery(session, delivery_id)
    if delivery is None or delivery.status != PENDING:
        return  # the subscription was deleted meanwhile
    delivery.attempts += 1
    session.add(
        DeliveryAttempt(
            delivery_id=delivery.id,
            attempt=delivery.attempts,
            at=now,
            status_code=result.status_code,
            error=result.error,
            duration_ms=result.duration_ms,
        )
    )
    delivery.last_status_code = result.status_code
    delivery.last_error = result.error
    if result.ok:
        delivery.status = DELIVERED
        delivery.delivered_at = now
        delivery.next_attempt_at = None
    elif delivery.attempts >= settings.webhook_max_attempts:
        delivery.status = FAILED
        delivery.next_attempt_at = None
        subscription = await repository.get_subscription(session, delivery.subscription_id)
        if subscription is not None and subscription.active:
            subscription.active = False
            subscription.disabled_at = now
            subscription.updated_at = now
            subscription.disabled_reason = (
                f"推送 {delivery.id} 连续 {delivery.attempts} 次失败，订阅已停用；最后一次：{result.error}"
            )
            await session.flush()
            await repository.cancel_pending(session, subscription.id, "订阅已停用，未再投递")
    else:
        delivery.next_attempt_at = now + backoff(settings, delivery.attempts)
    await session.flush()
