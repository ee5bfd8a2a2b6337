"""The NATS connection a service shares between its relay and consumers: connects in the background, forever."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable
from typing import TypeVar

import nats
from nats.aio.client import Client as NATS
from nats.js import JetStreamContext
from nats.js.api import StorageType, StreamConfig
from nats.js.errors import NotFoundError

from libs.aio import cancel_and_wait
from libs.observability import get_logger

log = get_logger("ew.bus")

T = TypeVar("T")


class Stopped(Exception):
    """The loop was asked to stop while it waited for something (`unless_stopped`)."""


async def unless_stopped(awaitable: Awaitable[T], stopping: asyncio.Event) -> T:
    """Await `awaitable`, unless `stopping` is set first: then cancel it and raise `Stopped`.

    For the waits of the relay and consumer loops (NATS ready, a fetch, a consumer lookup): a stop must not
    wait for them, while the work they lead to (publishing a batch, handling a message) is left to finish."""
    task = asyncio.ensure_future(awaitable)
    stopper = asyncio.ensure_future(stopping.wait())
    try:
        await asyncio.wait({task, stopper}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        stopper.cancel()
        if not task.done():
            with contextlib.suppress(Exception):
                await cancel_and_wait(task)
    if not task.cancelled():
        return task.result()
    raise Stopped


class Bus:
    """Holds the connection; readiness and the relay/consumer loops look at `connected`."""

    def __init__(
        self, url: str, *, name: str, stream: str, replicas: int = 1, max_age_days: float = 14
    ) -> None:
        self.url = url
        self.name = name
        self.stream = stream
        self.replicas = replicas
        self.max_age_days = max_age_days
        self.nc: NATS | None = None
        self._js: JetStreamContext | None = None
        self._ready = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    @property
    def connected(self) -> bool:
        return self.nc is not None and self.nc.is_connected

    @property
    def ready(self) -> bool:
        """Connected, and the stream is set up: publishing and consuming can work."""
        return self._ready.is_set() and self.connected

    @property
    def js(self) -> JetStreamContext:
        assert self._js is not None, "bus not connected yet"
        return self._js

    async def wait_ready(self) -> None:
        await self._ready.wait()

    def start(self) -> None:
        self._task = asyncio.create_task(self._connect(), name=f"bus-connect-{self.name}")

    async def _connect(self) -> None:
        errors_while_down = 0

        async def on_error(error: Exception) -> None:
            nonlocal errors_while_down
            errors_while_down += 1
            if errors_while_down in (1, 10) or errors_while_down % 100 == 0:  # retries every 0.5 s: sample
                log.warning(
                    "nats.error", service=self.name, error=type(error).__name__, count=errors_while_down
                )

        async def on_disconnect() -> None:
            log.warning("nats.disconnected", service=self.name)

        async def on_reconnect() -> None:
            nonlocal errors_while_down
            errors_while_down = 0
            log.info("nats.reconnected", service=self.name)

        self.nc = await nats.connect(
            self.url,
            name=f"eastwest-{self.name}",
            max_reconnect_attempts=-1,
            reconnect_time_wait=0.5,
            connect_timeout=2,
            error_cb=on_error,
            disconnected_cb=on_disconnect,
            reconnected_cb=on_reconnect,
        )
        self._js = self.nc.jetstream(timeout=5)
        while True:
            try:
                await ensure_stream(self._js, self.stream, self.replicas, self.max_age_days)
                break
            except Exception as error:
                log.warning("nats.stream_setup_failed", service=self.name, error=str(error))
                await asyncio.sleep(1)
        self._ready.set()
        log.info("nats.ready", service=self.name)

    async def close(self) -> None:
        if self._task is not None and not self._task.done():
            self._task.cancel()
        if self.nc is not None and not self.nc.is_closed:
            await self.nc.close()


async def ensure_stream(
    js: JetStreamContext,
    name: str,
    replicas: int = 1,
    max_age_days: float = 14,
    *,
    dead_letter_max_age_days: float = 90,
    dead_letter_max_bytes: int = 1 << 30,
) -> None:
    """The stream `name` on `ew.>`, file storage, messages kept `max_age_days`; `Nats-Msg-Id` de-duplication
    within two minutes (the inbox tables cover later redeliveries). Beside it `<name>_DLQ` on `dlq.ew.>`, the
    dead letters: kept longer (someone must look at each) and bounded in size, apart from the events' age and
    space. An existing stream keeps its settings: an operator's `nats stream edit` (replicas, age) must not be
    undone by the next pod that starts with older configuration; a difference is said, with the command."""
    await _ensure_one(
        js,
        StreamConfig(
            name=name,
            subjects=["ew.>"],
            storage=StorageType.FILE,
            num_replicas=replicas,
            duplicate_window=120.0,
            max_age=max_age_days * 86400,
        ),
    )
    await _ensure_one(
        js,
        StreamConfig(
            name=f"{name}_DLQ",
            subjects=["dlq.ew.>"],
            storage=StorageType.FILE,
            num_replicas=replicas,
            max_age=dead_letter_max_age_days * 86400,
            max_bytes=dead_letter_max_bytes,
        ),
    )


async def _ensure_one(js: JetStreamContext, config: StreamConfig) -> None:
    name = config.name
    assert name is not None
    try:
        info = await js.stream_info(name)
    except NotFoundError:
        await js.add_stream(config)
        return
    current = info.config
    if current.num_replicas != config.num_replicas or current.max_age != config.max_age:
        replicas, days = config.num_replicas, (config.max_age or 0) / 86400
        log.warning(
            "nats.stream_settings_differ",
            stream=name,
            replicas=current.num_replicas,
            configured_replicas=replicas,
            max_age_days=(current.max_age or 0) / 86400,
            configured_max_age_days=days,
            apply=f"nats stream edit {name} --replicas {replicas} --max-age {days:g}d -f",
        )
