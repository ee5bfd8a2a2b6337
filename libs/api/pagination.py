"""Cursor pagination: an opaque cursor of the last row's sort key, a stable order, `next_cursor` in the body."""

from __future__ import annotations

import base64
import json
from typing import Any, Generic, TypeVar

from pydantic import BaseModel

from libs.api.problems import validation_problem

T = TypeVar("T")

DEFAULT_LIMIT = 50
MAX_LIMIT = 200


class Page(BaseModel, Generic[T]):
    items: list[T]
    next_cursor: str | None = None


def encode_cursor(*key: Any) -> str:
    raw = json.dumps(list(key), separators=(",", ":"), default=str).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str | None, arity: int) -> list[Any] | None:
    """The key of the last row seen, or None for the first page; a tampered cursor is a 422 on `cursor`."""
    if not cursor:
        return None
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        key = json.loads(base64.urlsafe_b64decode(padded.encode()))
    except (ValueError, UnicodeDecodeError) as error:
        raise validation_problem(
            "query.cursor", "cursor_invalid", "游标无效，请使用上一页返回的 next_cursor"
        ) from error
    if not isinstance(key, list) or len(key) != arity:
        raise validation_problem("query.cursor", "cursor_invalid", "游标无效，请使用上一页返回的 next_cursor")
    return key
