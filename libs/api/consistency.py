"""Read your own writes across services.

A station registers a worker in demand and at once books a seat for them in bus: bus knows the worker only once
its consumer has handled `person.registered`, a few milliseconds to a few seconds later. Rather than answer 404
("does not exist") meanwhile, a service waits briefly for what it has not seen yet:

- **With a token.** Every answer of a request that wrote events carries `Ew-Consistency-Token` (the events'
  subjects and ids). A client passes it on the next request, to any service; that service waits until its inbox
  shows each named event it consumes as handled (events it does not consume are ignored), and past the bound
  answers 409 `not-yet-synchronised` with Retry-After, never 404.
- **Without a token**, a route that reads an entity from a read model calls `await_read_model`: when the row is
  missing it waits, and answers 404 only once the consumer that would bring it has nothing pending; still behind
  at the bound, 409 as above.

Waits are woken by this replica's consumers (`ServiceRuntime.handled`) and look again every `POLL_SECONDS` for
events another replica handled; each look is one primary-key read in a short session of its own, so a SQLite
snapshot never hides the row."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Annotated, Any

from fastapi import Header, Request
from sqlalchemy import select
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from libs.aio import wait_event
from libs.api.problems import FieldError, Problem
from libs.events import written
from libs.observability import get_logger

if TYPE_CHECKING:
    from libs.runtime import ServiceRuntime

log = get_logger("ew.consistency")
TOKEN_HEADER = "Ew-Consistency-Token"
POLL_SECONDS = 0.2
# Without a token, a missing row is "does not exist" once this long has passed and the consumer is caught up:
# long enough for the writer's relay, woken by its commit, to have published the event.
SETTLE_SECONDS = 0.5


class ConsistencyTokenMiddleware:
    """Collects the events a request writes and names them in a successful answer's `Ew-Consistency-Token`."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] in ("GET", "HEAD", "OPTIONS"):
            await self.app(scope, receive, send)
            return
        with written.collecting() as events:
            await self.app(scope, receive, self._with_token(send, events))

    @staticmethod
    def _with_token(send: Send, events: list[written.Written]) -> Send:
        async def send_with_token(message: Message) -> None:
            if message["type"] == "http.response.start" and events and 200 <= message["status"] < 300:
                headers = list(message.get("headers", []))
                headers.append((TOKEN_HEADER.lower().encode(), written.encode(events).encode()))
                message = {**message, "headers": headers}
            await send(message)

        return send_with_token


def not_yet_synchronised(field: str | None = None) -> Problem:
    return Problem(
        409,
        "刚写入的数据尚未同步到本服务，请稍后重试",
        slug="not-yet-synchronised",
        title="数据尚未同步",
        errors=[FieldError(field, "not_yet_synchronised", "尚未同步，请稍后重试")] if field else None,
        headers={"Retry-After": "1"},
    )


async def _wait(runtime: ServiceRuntime, ready: Callable[[float], Awaitable[bool]], seconds: float) -> bool:
    """Look with `ready(elapsed)` after each beat of the consumers or poll, until it says so or time is up."""
    started = time.monotonic()
    while True:
        beat = runtime.handled.current
        elapsed = time.monotonic() - started
        if await ready(elapsed):
            return True
        left = seconds - elapsed
        if left <= 0:
            return False
        await wait_event(beat, min(left, POLL_SECONDS))


async def consistency_token(
    request: Request,
    token: Annotated[
        str | None,
        Header(
            alias=TOKEN_HEADER,
            max_length=1000,
            description="上一个写请求应答中的 Ew-Consistency-Token：本服务先等到已同步这些事件再作答",
        ),
    ] = None,
) -> None:
    """Wait until this service has handled the events the token names (those it consumes)."""
    if token is None:
        return
    events = written.decode(token)
    if events is None:
        raise Problem(
            400,
            "一致性令牌无效",
            slug="validation",
            errors=[FieldError(f"header.{TOKEN_HEADER}", "invalid", "不是本平台签发的一致性令牌")],
        )
    runtime: ServiceRuntime = request.app.state.runtime
    wanted: dict[str, list[str]] = {}  # event id: the names of the consumers that follow it here
    for event in events:
        names = [
            c.name
            for c in runtime.consumers
            if any(written.subject_matches(s, event.subject) for s in c.subjects)
        ]
        if names:
            wanted[event.event_id] = names
    if not wanted:
        return
    inbox = runtime.tables.inbox

    async def all_handled(_elapsed: float) -> bool:
        async with runtime.sessions() as session:
            for event_id, names in wanted.items():
                seen = await session.scalar(
                    select(inbox.c.event_id)
                    .where(inbox.c.consumer.in_(names), inbox.c.event_id == event_id)
                    .limit(1)
                )
                if seen is None:
                    return False
        return True

    if not await _wait(runtime, all_handled, runtime.settings.read_your_writes_seconds):
        raise not_yet_synchronised(f"header.{TOKEN_HEADER}")


async def await_read_model(
    request: Request, model: type[Any], key: str, consumer: str, field: str | None = None
) -> None:
    """Return once `model` has the row `key`, or once it surely never will (its consumer is caught up): the
    route then answers as it always did (404 when the row is missing). Still behind at the bound: 409."""
    runtime: ServiceRuntime = request.app.state.runtime
    following = next(c for c in runtime.consumers if c.name == consumer)

    async def settled(elapsed: float) -> bool:
        async with runtime.sessions() as session:
            if await session.get(model, key) is not None:
                return True
        if elapsed < SETTLE_SECONDS:
            return False
        try:
            return await following.backlog() == 0
        except Exception as error:  # NATS away: nothing says the row is not on its way
            log.info("consistency.backlog_unknown", consumer=consumer, error=type(error).__name__)
            return False

    if not await _wait(runtime, settled, runtime.settings.read_your_writes_seconds):
        raise not_yet_synchronised(field)
