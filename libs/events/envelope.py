"""CloudEvents 1.0 envelope, sent as JSON on NATS subjects `ew.<service>.<entity>.<verb>`."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, SerializerFunctionWrapHandler, model_serializer

from libs.db import utcnow
from libs.observability import event_trace_context

# CloudEvents distributed-tracing extension attributes: left out of the envelope when the event has none.
TRACE_EXTENSIONS = ("traceparent", "tracestate")


class CloudEvent(BaseModel):
    """The envelope; `type` doubles as the NATS subject so consumers can filter on it.

    `traceparent`/`tracestate` are the W3C trace context of the span that created the event, stored with it
    in the outbox and sent as they are, so a consumer's span joins the producer's trace."""

    model_config = ConfigDict(frozen=True)

    specversion: str = "1.0"
    id: str = Field(default_factory=lambda: str(uuid.uuid4()))
    source: str
    type: str
    subject: str | None = None
    time: datetime = Field(default_factory=utcnow)
    datacontenttype: str = "application/json"
    data: dict[str, Any]
    traceparent: str | None = None
    tracestate: str | None = None

    @model_serializer(mode="wrap")
    def _without_empty_extensions(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        dumped: dict[str, Any] = handler(self)
        for name in TRACE_EXTENSIONS:
            if dumped.get(name) is None:
                dumped.pop(name, None)
        return dumped


def nats_headers(envelope: dict[str, Any]) -> dict[str, str]:
    """`Nats-Msg-Id` for JetStream de-duplication plus the CloudEvents binary-mode attributes."""
    headers = {
        "Nats-Msg-Id": envelope["id"],
        "ce-specversion": envelope["specversion"],
        "ce-id": envelope["id"],
        "ce-type": envelope["type"],
        "ce-source": envelope["source"],
    }
    for name in TRACE_EXTENSIONS:
        if envelope.get(name):
            headers[f"ce-{name}"] = envelope[name]
    return headers


def new_event(service: str, event_type: str, subject: str | None, data: dict[str, Any]) -> CloudEvent:
    """A new event, carrying the trace context it is created in (see `event_trace_context`)."""
    event_id = str(uuid.uuid4())
    context = event_trace_context(service, event_type, event_id)
    return CloudEvent(
        id=event_id,
        source=f"/eastwest/{service}",
        type=event_type,
        subject=subject,
        data=data,
        traceparent=context.get("traceparent") or None,
        tracestate=context.get("tracestate") or None,
    )
