"""stations's tables (plus the shared outbox, inbox, idempotency keys)."""

from __future__ import annotations

from sqlalchemy.orm import DeclarativeBase

from libs.db import new_metadata
from libs.events.tables import platform_tables


class Base(DeclarativeBase):
    metadata = new_metadata()


platform = platform_tables(Base.metadata)
