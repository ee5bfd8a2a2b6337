"""The base of every request model: unknown fields refused, text trimmed, control characters refused."""

from __future__ import annotations

import re
from typing import Any

from pydantic import BaseModel, ConfigDict, field_validator

from libs.api.openapi import keep_nulls

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def _check_text(value: Any) -> Any:
    if isinstance(value, str) and _CONTROL.search(value):
        raise ValueError("文本中含有不可见的控制字符")
    if isinstance(value, list):
        for item in value:
            _check_text(item)
    return value


class RequestModel(BaseModel):
    """PostgreSQL refuses NUL in text and nobody means to send one: a 422 naming the field, not a 500."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    @field_validator("*", mode="after")
    @classmethod
    def _no_control_characters(cls, value: Any) -> Any:
        return _check_text(value)


class Example:
    """A model's example as its JSON schema's `examples` (nulls kept through FastAPI: libs/api/openapi.py)."""

    def __init__(self, value: dict[str, Any]) -> None:
        self.value = value

    def __call__(self, schema: dict[str, Any]) -> None:
        schema["examples"] = [keep_nulls(self.value)]


def example(value: dict[str, Any]) -> ConfigDict:
    """`model_config = example({...})`: the example the docs and generated clients show, declared once on the
    model (OpenAPI `examples`); tests/unit/test_openapi.py checks that it is valid against the schema."""
    return ConfigDict(json_schema_extra=Example(value))
