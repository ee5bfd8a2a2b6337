"""The base of every request model: unknown fields refused, text trimmed, invisible characters refused.

What a caller sends is shown to others (the public job board, a station's lists, spreadsheets), so text may not
carry characters that change how it looks without being seen: control characters (PostgreSQL also refuses
NUL), bidirectional overrides such as U+202E that reverse what follows, zero-width characters that hide words
from the compliance check, and line breaks in a one-line field such as a job title. Fields that are prose (a
job's description, a note) list themselves in `multiline_fields` and keep their line breaks.
"""

from __future__ import annotations

import re
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, ValidationInfo, field_validator

from libs.api.openapi import keep_nulls

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
# Bidirectional controls (embeddings, overrides, isolates, marks) and zero-width or invisible format characters.
_INVISIBLE = re.compile(r"[\u061c\u180e\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff]")
_LINE_BREAK = re.compile(r"[\r\n\u2028\u2029\x85]")


def check_text(value: Any, *, multiline: bool = False) -> Any:
    """Refuse a string (or strings in a list) with characters nobody means to show; returns it unchanged."""
    if isinstance(value, str):
        if _CONTROL.search(value):
            raise ValueError("文本中含有不可见的控制字符")
        if _INVISIBLE.search(value):
            raise ValueError("文本中含有零宽字符或改变文字方向的控制字符（如 U+200B、U+202E），请删除后重试")
        if not multiline and _LINE_BREAK.search(value):
            raise ValueError("此项应为一行文字，不能含有换行符")
    elif isinstance(value, list):
        for item in value:
            check_text(item, multiline=multiline)
    return value


class RequestModel(BaseModel):
    """A 422 naming the field for text that would mislead a reader, never a 500 or a reversed job title."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    # Prose fields where line breaks belong.
    multiline_fields: ClassVar[frozenset[str]] = frozenset()

    @field_validator("*", mode="after")
    @classmethod
    def _no_invisible_characters(cls, value: Any, info: ValidationInfo) -> Any:
        return check_text(value, multiline=info.field_name in cls.multiline_fields)


class Example:
    """A model's example as its JSON schema's `examples` (nulls kept through FastAPI: libs/api/openapi.py)."""

    def __init__(self, value: dict[str, Any]) -> None:
        self.value = value

    def __call__(self, schema: dict[str, Any]) -> None:
        schema["examples"] = [keep_nulls(self.value)]


def example_of(model: type[BaseModel]) -> dict[str, Any]:
    """A model's declared example, to build a larger example from its parts."""
    extra = model.model_config.get("json_schema_extra")
    assert isinstance(extra, Example), model
    return extra.value


def example(value: dict[str, Any]) -> ConfigDict:
    """`model_config = example({...})`: the example the docs and generated clients show, declared once on the
    model (OpenAPI `examples`); tests/unit/test_openapi.py checks that it is valid against the schema."""
    return ConfigDict(json_schema_extra=Example(value))
