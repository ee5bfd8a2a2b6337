"""The merged OpenAPI document is good enough to generate a client from: one camelCase operationId per
operation, unique across the platform; Bearer auth declared; an example on every request body and every 2xx
JSON answer, and every example valid against its schema; files documented as the files they are; problems
documented with one schema; an ASCII title. (A client generated from it: tests/integration/test_client.py.)"""

from __future__ import annotations

import functools
import importlib
import re
from typing import Any

import jsonschema
import pytest
from pydantic import BaseModel
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from eastwest.services import FACTORIES, platform_openapi
from libs.api.openapi import CAMEL_ID, operations
from libs.api.schemas import Example

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
# Answered without a token: the live-stream board and its sign-up form are for anyone watching.
# Open to everyone: the live board and its sign-up, and the published policy list (政策清单).
OPEN_OPERATIONS = {
    "livePage",
    "liveJobs",
    "liveStream",
    "liveStations",
    "liveSignup",
    "listPolicies",
    "getPolicy",
    "policyVocabulary",
}


@functools.cache
def document() -> dict[str, Any]:
    return platform_openapi()


def resolve(schema: dict[str, Any]) -> dict[str, Any]:
    ref = schema.get("$ref")
    if ref:
        resolved: dict[str, Any] = document()["components"]["schemas"][ref.rsplit("/", 1)[-1]]
        return resolved
    return schema


def has_example(schema: dict[str, Any], media: dict[str, Any]) -> bool:
    """An example on the media type, on the schema (through its $ref), on every non-null member of a union
    (an optional body, one of two page shapes), or on the items of an array."""
    if "example" in media or "examples" in media:
        return True
    schema = resolve(schema)
    if "examples" in schema or "example" in schema:
        return True
    members = [member for member in schema.get("anyOf", []) if member.get("type") != "null"]
    if members:
        return all(has_example(member, {}) for member in members)
    if schema.get("type") == "array" and "items" in schema:
        return has_example(schema["items"], {})
    return False


def bodies() -> list[tuple[str, str, dict[str, Any], dict[str, Any]]]:
    """(operationId, where, schema, media) for every JSON or form request body and 2xx JSON answer."""
    found = []
    for _, _, operation in operations(document()):
        op_id = operation["operationId"]
        for content_type, media in operation.get("requestBody", {}).get("content", {}).items():
            if content_type in {"application/json", "multipart/form-data"}:
                found.append((op_id, "request", media.get("schema", {}), media))
        for code, response in operation["responses"].items():
            if code.startswith("2"):
                for content_type, media in (response.get("content") or {}).items():
                    if content_type == "application/json":
                        found.append((op_id, code, media.get("schema", {}), media))
    return found


def test_operation_ids_are_camel_case_and_unique() -> None:
    ids = [operation["operationId"] for _, _, operation in operations(document())]
    assert len(ids) > 60
    assert len(ids) == len(set(ids)), sorted(op for op in ids if ids.count(op) > 1)
    assert [op for op in ids if not CAMEL_ID.match(op)] == []
    assert {"createTrip", "createJob", "createEmployer", "registerPerson", "readFeed"} <= set(ids)


def test_bearer_auth_is_declared_on_every_operation_that_needs_a_token() -> None:
    schemes = document()["components"]["securitySchemes"]
    assert schemes == {
        "bearerAuth": {
            "type": "http",
            "scheme": "bearer",
            "bearerFormat": "JWT",
            "description": schemes["bearerAuth"]["description"],
        }
    }
    open_ones = set()
    for _, path, operation in operations(document()):
        if operation.get("security") == [{"bearerAuth": []}]:
            assert "401" in operation["responses"] or not path.startswith("/v1"), operation["operationId"]
        else:
            open_ones.add(operation["operationId"])
    assert open_ones == OPEN_OPERATIONS


def test_every_body_and_json_answer_has_an_example() -> None:
    found = bodies()
    assert len(found) > 90
    missing = sorted(
        f"{op_id} {where}" for op_id, where, schema, media in found if not has_example(schema, media)
    )
    assert missing == []


def _registry() -> Registry:  # type: ignore[type-arg]
    return Registry().with_resource(
        "urn:eastwest",
        Resource.from_contents(
            {**document(), "$schema": "https://json-schema.org/draft/2020-12/schema"}, DRAFT202012
        ),
    )


def schemas_with_examples() -> list[str]:
    return sorted(
        name for name, schema in document()["components"]["schemas"].items() if "examples" in schema
    )


@pytest.mark.parametrize("name", schemas_with_examples())
def test_every_example_is_valid_against_its_schema(name: str) -> None:
    schema = document()["components"]["schemas"][name]
    validator = jsonschema.Draft202012Validator(
        {"$ref": f"urn:eastwest#/components/schemas/{name}"},
        registry=_registry(),
        format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER,
    )
    for example in schema["examples"]:
        errors = [f"{list(error.absolute_path)}: {error.message}" for error in validator.iter_errors(example)]
        assert errors == [], name


@pytest.mark.parametrize(
    ("operation_id", "types"),
    [
        ("rosterTemplateFile", {"text/csv", XLSX}),
        ("supplyListTemplate", {"text/csv", XLSX}),
        ("exportDemandList", {"text/csv", XLSX}),
        ("tripManifest", {"application/json", "text/csv", XLSX, "text/html"}),
        ("readSnapshot", {"application/json", "application/ld+json", XLSX}),
        ("listPolicies", {"application/json", XLSX}),
    ],
)
def test_files_are_documented_as_what_they_are(operation_id: str, types: set[str]) -> None:
    (operation,) = [op for _, _, op in operations(document()) if op["operationId"] == operation_id]
    content = operation["responses"]["200"]["content"]
    assert set(content) == types
    for content_type in types - {"application/json", "application/ld+json"}:
        assert content[content_type]["schema"]["type"] == "string", content_type


def test_training_documents_its_refusals_like_every_service() -> None:
    for _, path, operation in operations(document()):
        if path.startswith("/v1/") and operation["operationId"] not in OPEN_OPERATIONS:
            codes = set(operation["responses"])
            assert {"401", "403", "404", "422"} <= codes, operation["operationId"]
            if "requestBody" in operation:
                assert "415" in codes, operation["operationId"]


def test_problems_have_one_schema() -> None:
    problem = document()["components"]["schemas"]["Problem"]
    assert problem["required"] == ["type", "title", "status", "detail"]
    for _, _, operation in operations(document()):
        for code, response in operation["responses"].items():
            if code.startswith(("4", "5")):
                assert response["content"] == {
                    "application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}
                }, (operation["operationId"], code)
    assert "HTTPValidationError" not in document()["components"]["schemas"]


def test_title_is_ascii_and_the_description_chinese() -> None:
    info = document()["info"]
    assert info["title"].isascii() and re.match(r"^[A-Za-z][A-Za-z0-9 ._-]*$", info["title"])
    assert re.search(r"[\u4e00-\u9fff]", info["description"])


def example_models() -> list[type[BaseModel]]:
    """Every model of the services' contracts that declares an example."""
    modules = [
        importlib.import_module(name)
        for name in (
            *(f"services.{service}.schemas" for service in FACTORIES),
            "services.demand.leads.schemas",
            "services.feed.live.schemas",
        )
    ]
    found = {
        model
        for module in modules
        for model in vars(module).values()
        if isinstance(model, type)
        and issubclass(model, BaseModel)
        and isinstance(model.__dict__.get("model_config", {}).get("json_schema_extra"), Example)
    }
    return sorted(found, key=lambda model: f"{model.__module__}.{model.__name__}")


@pytest.mark.parametrize("model", example_models(), ids=lambda model: f"{model.__module__}.{model.__name__}")
def test_every_example_passes_its_models_own_checks(model: type[BaseModel]) -> None:
    """Beyond the JSON schema: checksums (credit code, ID number), codes that exist, ranges between fields."""
    extra = model.model_config["json_schema_extra"]
    assert isinstance(extra, Example)
    model.model_validate(extra.value)
