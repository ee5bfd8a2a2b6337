"""The OpenAPI contract clients are generated from: one operationId rule, Bearer auth, one merged document."""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Mapping
from typing import Any

from fastapi.routing import APIRoute
from fastapi.security import HTTPBearer

# The scheme every route that reads the caller declares (libs/api/routing.py's Caller); FastAPI then lists it
# under components.securitySchemes and in each such operation's `security`.
BEARER = HTTPBearer(
    scheme_name="bearerAuth",
    bearerFormat="JWT",
    description="`Authorization: Bearer <JWT>`；开发环境用 `eastwest token --role ...` 签发",
    auto_error=False,  # the route answers a missing token with its own 401 problem
)

MERGED_TITLE = "eastwest API"
MERGED_DESCRIPTION = (
    "东西部劳务协作平台的全部公开接口（各服务的 OpenAPI 合并为一份），"
    "同一主机按路径路由到各服务：/v1/<资源>。错误统一为 RFC 9457 problem+json。"
)
CAMEL_ID = re.compile(r"^[a-z][A-Za-z0-9]*$")
# FastAPI writes its document with every None left out (exclude_none), nulls inside examples too, which
# makes an example with a required nullable field invalid. Examples carry this mark for null instead, and
# describe_problems() turns it back into null in the finished document.
NULL_MARK = "\u2400eastwest-null\u2400"


def keep_nulls(value: Any) -> Any:
    if value is None:
        return NULL_MARK
    if isinstance(value, dict):
        return {key: keep_nulls(item) for key, item in value.items()}
    if isinstance(value, list):
        return [keep_nulls(item) for item in value]
    return value


def restore_nulls(value: Any) -> Any:
    if value == NULL_MARK:
        return None
    if isinstance(value, dict):
        return {key: restore_nulls(item) for key, item in value.items()}
    if isinstance(value, list):
        return [restore_nulls(item) for item in value]
    return value


def operation_id(route: APIRoute) -> str:
    """`create_trip` -> `createTrip`: the route function's name, so ids are stable and read like the code.
    Unique across the platform (tests/unit/test_openapi.py checks the merged document)."""
    head, *rest = route.name.split("_")
    return head + "".join(part[:1].upper() + part[1:] for part in rest)


def _rename_refs(node: Any, renames: Mapping[str, str]) -> Any:
    prefix = "#/components/schemas/"
    if isinstance(node, dict):
        out = {}
        for key, value in node.items():
            if key == "$ref" and isinstance(value, str) and value.startswith(prefix):
                name = value[len(prefix) :]
                out[key] = prefix + renames.get(name, name)
            else:
                out[key] = _rename_refs(value, renames)
        return out
    if isinstance(node, list):
        return [_rename_refs(item, renames) for item in node]
    return node


def _canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, ensure_ascii=False)


def merge_documents(documents: Mapping[str, dict[str, Any]]) -> dict[str, Any]:
    """One document from the services' own (service name -> document). Paths and operationIds never collide
    (each path belongs to one service); a schema name two services define differently is prefixed with the
    service's name (`ImportResult` -> `SupplyImportResult`), identical ones are kept once."""
    docs = {name: copy.deepcopy(doc) for name, doc in documents.items()}
    while True:
        seen: dict[str, set[str]] = {}
        for doc in docs.values():
            for schema_name, schema in doc.get("components", {}).get("schemas", {}).items():
                seen.setdefault(schema_name, set()).add(_canonical(schema))
        clashing = {schema_name for schema_name, versions in seen.items() if len(versions) > 1}
        if not clashing:
            break
        for service, doc in docs.items():
            schemas = doc.get("components", {}).get("schemas", {})
            renames = {
                schema_name: service[:1].upper() + service[1:] + schema_name
                for schema_name in clashing
                if schema_name in schemas
            }
            renamed = _rename_refs(doc, renames)
            renamed["components"]["schemas"] = {
                renames.get(schema_name, schema_name): schema
                for schema_name, schema in renamed["components"]["schemas"].items()
            }
            for old, new in renames.items():  # generators name classes after the title
                schema = renamed["components"]["schemas"][new]
                if schema.get("title") == old:
                    schema["title"] = new
            docs[service] = renamed

    merged: dict[str, Any] = {
        "openapi": next(iter(docs.values()))["openapi"] if docs else "3.1.0",
        "info": {"title": MERGED_TITLE, "version": "1.0.0", "description": MERGED_DESCRIPTION},
        "paths": {},
        "components": {"schemas": {}, "securitySchemes": {}},
        "tags": [],
    }
    tags: dict[str, dict[str, Any]] = {}
    for service, doc in docs.items():
        for path, operations in doc.get("paths", {}).items():
            if path in merged["paths"]:
                raise ValueError(f"{path} is documented by two services (the second: {service})")
            merged["paths"][path] = operations
        components = doc.get("components", {})
        merged["components"]["schemas"].update(components.get("schemas", {}))
        merged["components"]["securitySchemes"].update(components.get("securitySchemes", {}))
        for tag in doc.get("tags", []):
            tags.setdefault(tag["name"], tag)
        description = doc.get("info", {}).get("description", "")
        tags.setdefault(service, {"name": service})
        if description:
            tags[service].setdefault("description", description)
    merged["tags"] = list(tags.values())
    return merged


def operations(document: Mapping[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    """(method, path, operation) for every operation of a document."""
    methods = {"get", "put", "post", "delete", "patch", "head", "options", "trace"}
    return [
        (method, path, operation)
        for path, item in document.get("paths", {}).items()
        for method, operation in item.items()
        if method in methods
    ]


PROBLEM_SCHEMA: dict[str, Any] = {
    "title": "Problem",
    "description": "RFC 9457 problem details; `errors` names the failing fields of a 422",
    "type": "object",
    "properties": {
        "type": {"type": "string", "description": "稳定的错误类型 URI"},
        "title": {"type": "string", "description": "中文标题"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
        "instance": {"type": "string"},
        "errors": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "field": {"type": "string"},
                    "code": {"type": "string"},
                    "message": {"type": "string"},
                },
                "required": ["field", "code", "message"],
            },
        },
    },
    "required": ["type", "title", "status", "detail"],
    "examples": [
        {
            "type": "https://eastwest.dev/problems/validation",
            "title": "请求数据校验失败",
            "status": 422,
            "detail": "body.salary_max: salary_max 不能小于 salary_min",
            "instance": "/v1/jobs",
            "errors": [
                {
                    "field": "body.salary_max",
                    "code": "value_error",
                    "message": "salary_max 不能小于 salary_min",
                }
            ],
        }
    ],
}


def describe_problems(document: dict[str, Any]) -> dict[str, Any]:
    """Every `application/problem+json` answer refers to one Problem schema (FastAPI writes them empty);
    FastAPI's own HTTPValidationError, never sent (422s are problems), goes; nulls come back in examples."""
    schemas = document.setdefault("components", {}).setdefault("schemas", {})
    for schema in schemas.values():
        if "examples" in schema:
            schema["examples"] = restore_nulls(schema["examples"])
    schemas["Problem"] = PROBLEM_SCHEMA
    for _, _, operation in operations(document):
        for code, response in list(operation.get("responses", {}).items()):
            if code.startswith(("4", "5")) and not response.get("content"):
                response["content"] = {"application/problem+json": {}}  # every error is a problem
            content = response.get("content", {})
            if code == "422" and "application/json" in content and "application/problem+json" not in content:
                content.pop("application/json")
                content["application/problem+json"] = {}
                response["description"] = "RFC 9457 problem details"
            if "application/problem+json" in content:
                content["application/problem+json"] = {"schema": {"$ref": "#/components/schemas/Problem"}}
    for unused in ("HTTPValidationError", "ValidationError"):
        if not any(unused in ref for ref in _all_refs(document)):
            schemas.pop(unused, None)
    return document


def _all_refs(node: Any) -> list[str]:
    found: list[str] = []
    stack = [node]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            for key, value in item.items():
                if key == "$ref" and isinstance(value, str):
                    found.append(value)
                else:
                    stack.append(value)
        elif isinstance(item, list):
            stack.extend(item)
    return found
