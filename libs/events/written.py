"""Which events a request wrote, so its answer can name them (the consistency token, libs/api/consistency.py).

`add_event` records each event in the list the request's middleware opened; outside a request (consumers, the
relay, scripts) there is no list and nothing is recorded."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass

MAX_TOKEN_EVENTS = 8  # a bulk import names its last few events: a reader waits for the end of the batch
_PART = re.compile(r"^(ew(?:\.[a-z0-9_-]{1,40}){2,6})@([0-9a-f-]{36})$")


@dataclass(frozen=True, slots=True)
class Written:
    subject: str
    event_id: str


_written: ContextVar[list[Written] | None] = ContextVar("ew_written", default=None)


def record(subject: str, event_id: str) -> None:
    written = _written.get()
    if written is not None:
        written.append(Written(subject, event_id))


@contextmanager
def collecting() -> Iterator[list[Written]]:
    """A fresh list for one request: what `add_event` records meanwhile, in this context, lands in it."""
    written: list[Written] = []
    token = _written.set(written)
    try:
        yield written
    finally:
        _written.reset(token)


def encode(events: list[Written]) -> str:
    return ",".join(f"{event.subject}@{event.event_id}" for event in events[-MAX_TOKEN_EVENTS:])


def decode(token: str) -> list[Written] | None:
    """The events a token names; None when it is not a token this platform wrote."""
    parts = [part.strip() for part in token.split(",")]
    if not 0 < len(parts) <= MAX_TOKEN_EVENTS:
        return None
    events: list[Written] = []
    for part in parts:
        match = _PART.match(part)
        if match is None:
            return None
        events.append(Written(match[1], match[2]))
    return events


def subject_matches(pattern: str, subject: str) -> bool:
    """NATS subject matching: `*` is one token, a final `>` one or more."""
    want, have = pattern.split("."), subject.split(".")
    for i, token in enumerate(want):
        if token == ">":
            return len(have) > i
        if i >= len(have) or (token != "*" and token != have[i]):
            return False
    return len(want) == len(have)
