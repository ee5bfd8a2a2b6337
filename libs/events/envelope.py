"""CloudEvents 1.0 envelope, sent as JSON on NATS subjects `ew.<service>.<entity>.<verb>`."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from libs.db import utcnow


class CloudEvent(BaseModel):
    """The envelope; `type` doubles as the NATS subject so consumers can filter on it."""

    model_config = ConfigDict(frozen=True)

    specversion: str = "1.0"
    id: str = Field(default_factory=lambda: str(uuid.uuid4()))
    source: str
    type: str
    subject: str | None = None
    time: datetime = Field(default_factory=utcnow)
    datacontenttype: str = "application/json"
    data: dict[str, Any]


def nats_headers(envelope: dict[str, Any]) -> dict[str, str]:
    """`Nats-Msg-Id` for JetStream de-duplication plus the CloudEvents binary-mode attributes."""
    return {
        "Nats-Msg-Id": envelope["id"],
        "ce-specversion": envelope["specversion"],
        "ce-id": envelope["id"],
        "ce-type": envelope["type"],
        "ce-source": envelope["source"],
    }


def new_event(service: str, event_type: str, subject: str | None, data: dict[str, Any]) -> CloudEvent:
    return CloudEvent(source=f"/eastwest/{service}", type=event_type, subject=subject, data=data)
