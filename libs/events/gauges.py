"""The event backbone's gauges, read on a timer of their own.

Set by the relay and the consumers only when they were idle, these froze at their last idle value (usually 0)
exactly while NATS was down, publishes failed or a consumer fell behind, and the alerts built on them could
not fire. Here they are read every `every_seconds` whatever the relay and the consumers are doing: the outbox
from the service's database (rows waiting, the age of the oldest), the lag from JetStream (each durable
consumer's undelivered messages). A source that does not answer leaves its gauges as they were;
`ew_dependency_up` says which one is away.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from libs.db import utcnow
from libs.events.consumer import EventConsumer
from libs.events.relay import OutboxRelay
from libs.observability import CONSUMER_PENDING, OUTBOX_BACKLOG, OUTBOX_OLDEST_AGE, get_logger

log = get_logger("ew.gauges")


async def read_event_gauges(relay: OutboxRelay, consumers: Sequence[EventConsumer]) -> None:
    try:
        count, oldest = await relay.waiting()
    except Exception as error:
        log.debug("gauges.outbox_unread", service=relay.service, error=f"{type(error).__name__}: {error}")
    else:
        OUTBOX_BACKLOG.labels(relay.service).set(count)
        age = (utcnow() - oldest).total_seconds() if oldest is not None else 0.0
        OUTBOX_OLDEST_AGE.labels(relay.service).set(max(0.0, age))
    if not relay.bus.ready:
        return
    for consumer in consumers:
        try:
            CONSUMER_PENDING.labels(consumer.name).set(await consumer.pending())
        except Exception as error:
            log.debug("gauges.lag_unread", consumer=consumer.name, error=f"{type(error).__name__}: {error}")


async def watch_event_gauges(
    relay: OutboxRelay, consumers: Sequence[EventConsumer], every_seconds: float
) -> None:
    while True:
        await read_event_gauges(relay, consumers)
        await asyncio.sleep(every_seconds)
