"""Cursor pagination: an opaque cursor of the last row's sort key, a stable order, `next_cursor` in the body."""

from __future__ import annotations

import base64
import json
from typing import Any, Generic, TypeVar, Union, get_args, get_origin

from pydantic import BaseModel, ConfigDict

from libs.api.openapi import keep_nulls
from libs.api.problems import validation_problem
from libs.api.schemas import Example

T = TypeVar("T")

DEFAULT_LIMIT = 50
MAX_LIMIT = 200


def _item_example(annotation: Any) -> Any:
    """The first example of the item model (of the first member of a union that has one)."""
    for candidate in (annotation, *get_args(annotation)):
        if isinstance(candidate, type) and issubclass(candidate, BaseModel):
            extra = candidate.model_config.get("json_schema_extra")
            if isinstance(extra, Example):
                return extra.value
    return None


def _page_example(schema: dict[str, Any], model: type[BaseModel]) -> None:
    """A page's example is one item's example and a cursor: declared once, on the item model."""
    items = model.model_fields["items"].annotation
    (item,) = get_args(items) or (None,)
    if get_origin(item) is Union or type(item).__name__ == "UnionType":
        item = next((member for member in get_args(item) if _item_example(member) is not None), None)
    value = _item_example(item)
    if value is not None:
        cursor = "WyIyMDI2LTExLTIwVDA5OjMwOjAwKzA4OjAwIiwiaWQiXQ"
        schema["examples"] = [keep_nulls({"items": [value], "next_cursor": cursor})]


class Page(BaseModel, Generic[T]):
    model_config = ConfigDict(json_schema_extra=_page_example)

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
