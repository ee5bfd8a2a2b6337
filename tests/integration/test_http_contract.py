"""The HTTP contract of every supply and feed endpoint: bad input, tokens, scopes, idempotency and imports.

Every refusal must be RFC 9457 problem+json (`type`, a Chinese `title`, `status`, `detail`, and for
validation the failing fields, e.g. `body.salary_max`, `query.cursor`, `header.Idempotency-Key`,
`form.file`), and must leave nothing behind: no row, no change, no outbox event.

These tests only add data (each one makes its own employers and jobs or only reads `world`), so they share
one platform per database backend instead of starting one per test; "nothing changed" is checked against a
snapshot taken at the start of the test.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import re
import time
import uuid
import warnings
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import httpx
import jwt
import nats
import pytest
from nats.js.errors import NotFoundError
from sqlalchemy import func, select

from eastwest.embedded import NatsServer
from libs.api.pagination import encode_cursor
from libs.db import beijing_date
from libs.spreadsheets import read_table, write_table
from services.supply.imports import REQUIRED_HEADERS, SUPPLY_COLUMNS, parse_supply_rows
from services.supply.models import SupplyList
from services.supply.models import platform as supply_tables
from tests.factories import credit_code, employer_body, job_body
from tests.harness import (
    ADMIN,
    PUBLIC,
    SECRET,
    DatabaseFactory,
    Platform,
    auth,
    eventually,
    make_settings,
    running_platform,
)

PROBLEM_JSON = "application/problem+json"
CHINESE = re.compile(r"[\u4e00-\u9fff]")
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
SHEET_HEADERS = [column.header for column in SUPPLY_COLUMNS]
ONE_MIB = 1024 * 1024


# --- helpers ------------------------------------------------------------------------------------------------


def assert_problem(
    response: httpx.Response, status: int, *fields: str, slug: str | None = None
) -> dict[str, Any]:
    """An RFC 9457 answer with this status; `fields` must all be named in `errors`."""
    where = f"{response.request.method} {response.request.url.path}"
    assert response.status_code == status, f"{where} -> {response.status_code}: {response.text[:600]}"
    assert response.headers["content-type"].startswith(PROBLEM_JSON), (where, response.headers)
    assert "Traceback" not in response.text
    body: dict[str, Any] = response.json()
    assert {"type", "title", "status", "detail"} <= body.keys(), body
    assert body["status"] == status
    assert body["type"].startswith("https://"), body
    assert CHINESE.search(body["title"]), f"title is not Chinese: {body['title']!r}"
    assert isinstance(body["detail"], str) and body["detail"].strip(), body
    if slug is not None:
        assert body["type"].endswith(f"/{slug}"), body["type"]
    if body["type"].endswith("/validation"):
        assert body.get("errors"), f"a validation problem names its failing fields: {body}"
    for error in body.get("errors", []):
        assert {"field", "code", "message"} <= error.keys(), error
    named = [error["field"] for error in body.get("errors", [])]
    for field in fields:
        assert field in named, f"{where}: {field} not among {named}"
    return body


def recruiter(employer_id: str) -> dict[str, str]:
    return auth("recruiter", sub=f"recruiter-{employer_id[:8]}", employer_id=employer_id)


PARTNER = auth("partner", sub="partner-guizhou", provinces=["52"])
STATION = auth("station", sub="station-1", station_id="st-0001")
TRAINING = auth("training", sub="training-1", base_id="base-1")


def new_key() -> str:
    return f"key-{uuid.uuid4().hex}"


async def make_employer(platform: Platform, **overrides: Any) -> str:
    response = await platform.client.post("/v1/employers", json=employer_body(**overrides), headers=ADMIN)
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


async def make_job(
    platform: Platform, employer_id: str, headers: dict[str, str] = ADMIN, **overrides: Any
) -> dict[str, Any]:
    response = await platform.client.post(
        "/v1/jobs", json=job_body(employer_id, **overrides), headers=headers
    )
    assert response.status_code == 201, response.text
    return dict(response.json())


async def all_pages(
    platform: Platform, path: str, headers: dict[str, str], **params: str
) -> list[dict[str, Any]]:
    """Every item of a cursor-paged list, following `next_cursor`."""
    items: list[dict[str, Any]] = []
    cursor: str | None = None
    while True:
        query = {**params, "limit": "200", **({"cursor": cursor} if cursor else {})}
        response = await platform.client.get(path, params=query, headers=headers)
        assert response.status_code == 200, response.text
        page = response.json()
        items.extend(page["items"])
        cursor = page["next_cursor"]
        if cursor is None:
            return items


async def jobs_of(platform: Platform, employer_id: str) -> list[dict[str, Any]]:
    return await all_pages(platform, "/v1/jobs", ADMIN, employer_id=employer_id)


async def feed_ids(platform: Platform) -> set[str]:
    return {item["id"] for item in await all_pages(platform, "/v1/feed", PUBLIC)}


@dataclass(frozen=True)
class State:
    """What supply holds: employers and jobs as the admin lists show them, outbox events, supply lists."""

    employers: dict[str, Any]
    jobs: dict[str, Any]
    outbox: int
    supply_lists: int


async def snapshot(platform: Platform) -> State:
    employers = {item["id"]: item for item in await all_pages(platform, "/v1/employers", ADMIN)}
    jobs = {item["id"]: item for item in await all_pages(platform, "/v1/jobs", ADMIN)}
    async with platform.runtime("supply").sessions() as session:
        outbox = await session.scalar(select(func.count()).select_from(supply_tables.outbox))
        lists = await session.scalar(select(func.count()).select_from(SupplyList))
    return State(employers, jobs, int(outbox or 0), int(lists or 0))


async def assert_unchanged(platform: Platform, before: State) -> None:
    after = await snapshot(platform)
    assert after.employers == before.employers, "an employer was created or changed"
    assert after.jobs == before.jobs, "a job was created or changed"
    assert after.outbox == before.outbox, "an event was written to the outbox"
    assert after.supply_lists == before.supply_lists, "a supply list was stored"


def sheet(rows: list[dict[str, object]], fmt: str) -> bytes:
    """A 岗位供给清单 as an employer fills it in: the template's headers, cells left empty where not given."""
    cells = [[row.get(header, "") for header in SHEET_HEADERS] for row in rows]
    return write_table(SHEET_HEADERS, cells, "xlsx" if fmt == "xlsx" else "csv")


async def upload(
    platform: Platform,
    employer_id: str,
    filename: str,
    content: bytes,
    headers: dict[str, str],
    key: str | None = None,
) -> httpx.Response:
    mime = XLSX if filename.endswith(".xlsx") else "text/csv" if filename.endswith(".csv") else "text/plain"
    return await platform.client.post(
        "/v1/supply-lists/imports",
        data={"employer_id": employer_id},
        files={"file": (filename, content, mime)},
        headers={**headers, **({"Idempotency-Key": key} if key else {})},
    )


def b64(raw: object) -> str:
    """A cursor-shaped string holding any JSON value (or raw text)."""
    text = raw if isinstance(raw, str) else json.dumps(raw)
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


def wrong_checksum(code: str) -> str:
    alphabet = "0123456789ABCDEFGHJKLMNPQRTUWXY"
    return code[:-1] + alphabet[(alphabet.index(code[-1]) + 1) % len(alphabet)]


TODAY = beijing_date()
GOOD_ROWS: list[dict[str, object]] = [
    {"岗位名称": "电子产品装配工", "工作城市": "苏州", "招聘人数": 30, "月薪下限": 5200, "月薪上限": 7200},
    {
        "岗位名称": "快递分拣员",
        "工作城市": "3201",
        "招聘人数": "10人",
        "月薪下限": "5,000",
        "月薪上限": "6500元",
    },
    {
        "岗位名称": "保安员",
        "工作城市": "无锡市",
        "招聘人数": 5,
        "月薪下限": 4500,
        "月薪上限": 5500,
        "年龄要求": "18-50",
    },
]
BAD_ROWS: list[dict[str, object]] = [
    {"岗位名称": "仓库管理员", "工作城市": "北京", "招聘人数": 3, "月薪下限": 5000, "月薪上限": 6000},
    {"岗位名称": "焊工", "工作城市": "常州", "招聘人数": 3, "月薪下限": 8000, "月薪上限": 6000},
    {"岗位名称": "", "工作城市": "南京", "招聘人数": 3, "月薪下限": 5000, "月薪上限": 6000},
]
# Row numbers as Excel shows them: the header is row 1, so the bad rows are 5, 6 and 7.
BAD_ROW_ERRORS = [
    (5, "工作城市", "invalid_city"),
    (6, "月薪上限", "value_error"),
    (7, "岗位名称", "required"),
]


# --- the platform, one per backend for this module ----------------------------------------------------------


@pytest.fixture(scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
async def platform(
    request: pytest.FixtureRequest, nats_server: NatsServer, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Platform]:
    """Supply and feed on a real port, fresh databases, a fresh stream: conftest's `platform`, but one per
    backend for the whole module rather than one per test (about 500 cases per backend)."""
    backend = str(request.param)
    admin_url = request.getfixturevalue("postgres_admin_url") if backend == "postgres" else None
    folder = tmp_path_factory.mktemp(f"contract-{backend}")
    settings = await make_settings(DatabaseFactory(backend, folder, admin_url), nats_server.url, folder)
    connection = await nats.connect(nats_server.url)
    for stream in (settings.stream_name, f"{settings.stream_name}_DLQ"):
        with contextlib.suppress(NotFoundError):
            await connection.jetstream().delete_stream(stream)
    await connection.close()
    async with running_platform(settings) as running:
        yield running


@dataclass(frozen=True)
class World:
    """Two employers with jobs in every state, and a supply list of B; tests never change these."""

    employer_a: str
    employer_b: str
    job_a: str
    job_b: str
    flagged_b: str
    closed_b: str
    list_b: str


@pytest.fixture(scope="module")
async def world(platform: Platform) -> World:
    employer_a = await make_employer(platform, name="苏州甲电子有限公司")
    employer_b = await make_employer(platform, name="无锡乙机械有限公司", city_code="3202")
    job_a = await make_job(platform, employer_a, headers=recruiter(employer_a))
    job_b = await make_job(platform, employer_b, headers=recruiter(employer_b))
    flagged_b = await make_job(platform, employer_b, description="限男性")
    assert flagged_b["status"] == "flagged"
    closed_b = await make_job(platform, employer_b, title="仓库管理员")
    closed = await platform.client.post(f"/v1/jobs/{closed_b['id']}/close", headers=ADMIN)
    assert closed.status_code == 200, closed.text
    imported = await upload(platform, employer_b, "b.csv", sheet([GOOD_ROWS[0]], "csv"), ADMIN)
    assert imported.status_code == 201, imported.text
    return World(
        employer_a=employer_a,
        employer_b=employer_b,
        job_a=job_a["id"],
        job_b=job_b["id"],
        flagged_b=flagged_b["id"],
        closed_b=closed_b["id"],
        list_b=imported.json()["list_id"],
    )


# --- every endpoint -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Endpoint:
    method: str
    path: str

    def __str__(self) -> str:
        return f"{self.method} {self.path}"


ENDPOINTS = (
    Endpoint("POST", "/v1/employers"),
    Endpoint("GET", "/v1/employers"),
    Endpoint("GET", "/v1/employers/{employer}"),
    Endpoint("POST", "/v1/jobs"),
    Endpoint("GET", "/v1/jobs"),
    Endpoint("GET", "/v1/jobs/{job}"),
    Endpoint("PATCH", "/v1/jobs/{job}"),
    Endpoint("POST", "/v1/jobs/{job}/close"),
    Endpoint("POST", "/v1/supply-lists/imports"),
    Endpoint("GET", "/v1/supply-lists/template"),
    Endpoint("GET", "/v1/supply-lists/{list}"),
    Endpoint("GET", "/v1/feed"),
    Endpoint("GET", "/v1/feed/stream"),
)


async def call(
    platform: Platform, endpoint: Endpoint, world: World, headers: dict[str, str]
) -> httpx.Response:
    """The endpoint called with a well-formed request on `world`'s objects (employer A, its job, B's list)."""
    path = endpoint.path.format(employer=world.employer_a, job=world.job_a, list=world.list_b)
    kwargs: dict[str, Any] = {}
    if str(endpoint) == "POST /v1/employers":
        kwargs["json"] = employer_body()
    elif str(endpoint) == "POST /v1/jobs":
        kwargs["json"] = job_body(world.employer_a)
    elif endpoint.method == "PATCH":
        kwargs["json"] = {"title": "改过的岗位名称"}
    elif str(endpoint) == "POST /v1/supply-lists/imports":
        kwargs["data"] = {"employer_id": world.employer_a}
        kwargs["files"] = {"file": ("jobs.csv", sheet(GOOD_ROWS, "csv"), "text/csv")}
    request = platform.client.request(endpoint.method, path, headers=headers, **kwargs)
    # A stream that was (wrongly) accepted would never end: bound it.
    return await asyncio.wait_for(request, timeout=10)


# === 1. bad input ===========================================================================================

# --- malformed JSON, wrong content type, oversized bodies ---------------------------------------------------

JSON_WRITES = ("POST /v1/employers", "POST /v1/jobs", "PATCH /v1/jobs/{job}")


def _json_write(world: World, which: str) -> tuple[str, str]:
    method, path = which.split(" ")
    return method, path.format(job=world.job_a)


@pytest.mark.parametrize("which", JSON_WRITES)
@pytest.mark.parametrize(
    "raw",
    [b"{", '{"title": "电子产品装配工",}'.encode(), b"{'title': 'x'}", b'{"title": "a"} trailing', b"nul"],
    ids=["unclosed", "trailing-comma", "single-quotes", "trailing-text", "bare-word"],
)
async def test_malformed_json_is_400_on_body(
    platform: Platform, world: World, which: str, raw: bytes
) -> None:
    before = await snapshot(platform)
    method, path = _json_write(world, which)
    headers = {**ADMIN, "Content-Type": "application/json"}
    response = await platform.client.request(method, path, content=raw, headers=headers)
    body = assert_problem(response, 400, slug="malformed-json")
    assert body["errors"][0]["field"] == "body"
    await assert_unchanged(platform, before)


@pytest.mark.parametrize(
    "raw",
    [b'{"title": "\xff\xfe"}', b"[" * 50_000 + b"]" * 50_000, b'{"headcount": ' + b"9" * 5000 + b"}"],
    ids=["invalid-utf8", "deep-nesting", "5000-digit-number"],
)
async def test_unparseable_json_is_400_on_body(platform: Platform, world: World, raw: bytes) -> None:
    before = await snapshot(platform)
    headers = {**ADMIN, "Content-Type": "application/json"}
    response = await platform.client.post("/v1/jobs", content=raw, headers=headers)
    body = assert_problem(response, 400, slug="malformed-json")
    assert body["errors"][0]["field"] == "body"
    assert CHINESE.search(body["detail"])
    await assert_unchanged(platform, before)


@pytest.mark.parametrize(
    "which", [*JSON_WRITES, "POST /v1/jobs/{job}/close", "POST /v1/supply-lists/imports"]
)
@pytest.mark.parametrize(
    "content_type", ["text/plain", "application/xml", "application/x-www-form-urlencoded", None]
)
async def test_non_json_body_is_415(
    platform: Platform, world: World, which: str, content_type: str | None
) -> None:
    before = await snapshot(platform)
    method, path = _json_write(world, which)
    headers = {**ADMIN, **({"Content-Type": content_type} if content_type else {})}
    response = await platform.client.request(method, path, content=b'{"title": "x"}', headers=headers)
    assert_problem(response, 415, slug="unsupported-media-type")
    await assert_unchanged(platform, before)


@pytest.mark.parametrize("path", ["/v1/jobs", "/v1/employers", "/v1/supply-lists/imports"])
async def test_the_other_body_kind_is_415(platform: Platform, world: World, path: str) -> None:
    before = await snapshot(platform)
    if path.endswith("/imports"):
        response = await platform.client.post(path, json={"employer_id": world.employer_a}, headers=ADMIN)
    else:
        files = {"file": ("job.json", json.dumps(job_body(world.employer_a)).encode(), "application/json")}
        response = await platform.client.post(path, files=files, headers=ADMIN)
    assert_problem(response, 415, slug="unsupported-media-type")
    await assert_unchanged(platform, before)


@pytest.mark.parametrize("which", JSON_WRITES)
async def test_body_over_one_mib_is_413(platform: Platform, world: World, which: str) -> None:
    before = await snapshot(platform)
    method, path = _json_write(world, which)
    huge = "长" * (ONE_MIB // 3 + 10)  # three UTF-8 bytes each: just over 1 MiB
    if method == "PATCH":
        body = {"description": huge}
    elif path == "/v1/employers":
        body = employer_body(name=huge)
    else:
        body = job_body(world.employer_a, description=huge)
    response = await platform.client.request(method, path, json=body, headers=ADMIN)
    assert_problem(response, 413, slug="payload-too-large")
    await assert_unchanged(platform, before)


async def test_streamed_body_over_one_mib_is_413(platform: Platform, world: World) -> None:
    """No Content-Length (chunked): the limit is enforced while reading."""
    before = await snapshot(platform)

    async def chunks() -> AsyncIterator[bytes]:
        yield b'{"description": "'
        for _ in range(12):
            yield b"x" * 100_000
        yield b'"}'

    headers = {**ADMIN, "Content-Type": "application/json"}
    response = await platform.client.post("/v1/jobs", content=chunks(), headers=headers)
    assert_problem(response, 413, slug="payload-too-large")
    await assert_unchanged(platform, before)


async def test_upload_over_ten_mib_is_413(platform: Platform, world: World) -> None:
    before = await snapshot(platform)
    content = sheet(GOOD_ROWS, "csv") + b"x" * (10 * ONE_MIB + 1)
    response = await upload(platform, world.employer_a, "big.csv", content, ADMIN)
    assert_problem(response, 413, slug="payload-too-large")
    await assert_unchanged(platform, before)


# --- POST /v1/employers: field rules ------------------------------------------------------------------------

EMPLOYER_CASES: list[Any] = [
    pytest.param(
        {"credit_code": wrong_checksum(credit_code(990001))}, "body.credit_code", id="credit-code-checksum"
    ),
    pytest.param({"credit_code": "91320500MA1234567"}, "body.credit_code", id="credit-code-17-chars"),
    pytest.param({"credit_code": "91320500MA12345IOZ"}, "body.credit_code", id="credit-code-bad-chars"),
    pytest.param({"city_code": "3214"}, "body.city_code", id="city-3214"),
    pytest.param({"city_code": "1101"}, "body.city_code", id="city-1101-beijing"),
    pytest.param({"city_code": "苏州"}, "body.city_code", id="city-not-a-code"),
    pytest.param({"name": "厂"}, "body.name", id="name-too-short"),
    pytest.param({"name": "厂" * 101}, "body.name", id="name-too-long"),
    pytest.param({"name": 42}, "body.name", id="name-wrong-type"),
    pytest.param({"assistance_base": "maybe"}, "body.assistance_base", id="flag-wrong-type"),
    pytest.param({"address": "苏州工业园区"}, "body.address", id="unknown-field"),
]


@pytest.mark.parametrize(("overrides", "field"), EMPLOYER_CASES)
async def test_employer_field_rules(platform: Platform, overrides: dict[str, Any], field: str) -> None:
    before = await snapshot(platform)
    response = await platform.client.post("/v1/employers", json=employer_body(**overrides), headers=ADMIN)
    assert_problem(response, 422, field, slug="validation")
    await assert_unchanged(platform, before)


@pytest.mark.parametrize(
    "missing",
    [("name",), ("credit_code",), ("city_code",), ("name", "credit_code", "city_code")],
    ids="-".join,
)
async def test_employer_required_fields(platform: Platform, missing: tuple[str, ...]) -> None:
    before = await snapshot(platform)
    body = {name: value for name, value in employer_body().items() if name not in missing}
    response = await platform.client.post("/v1/employers", json=body, headers=ADMIN)
    assert_problem(response, 422, *(f"body.{name}" for name in missing))
    await assert_unchanged(platform, before)


async def test_employer_duplicate_credit_code_is_409(platform: Platform) -> None:
    body = employer_body()
    first = await platform.client.post("/v1/employers", json=body, headers=ADMIN)
    assert first.status_code == 201
    before = await snapshot(platform)
    again = await platform.client.post("/v1/employers", json={**body, "name": "另一家公司"}, headers=ADMIN)
    problem = assert_problem(again, 409, "body.credit_code", slug="conflict")
    assert problem["existing_id"] == first.json()["id"]
    await assert_unchanged(platform, before)


# --- POST /v1/jobs: field rules -----------------------------------------------------------------------------

JOB_CASES: list[Any] = [
    pytest.param({"title": 123}, ["body.title"], id="title-wrong-type"),
    pytest.param({"headcount": "many"}, ["body.headcount"], id="headcount-not-a-number"),
    pytest.param({"headcount": 2.5}, ["body.headcount"], id="headcount-fraction"),
    pytest.param({"salary_min": [5000]}, ["body.salary_min"], id="salary-a-list"),
    pytest.param({"skills": "装配"}, ["body.skills"], id="skills-not-a-list"),
    pytest.param({"benefits": "包吃住"}, ["body.benefits"], id="benefits-not-an-object"),
    pytest.param({"benefits": {"dormitory": "maybe"}}, ["body.benefits.dormitory"], id="benefit-wrong-type"),
    pytest.param({"valid_until": "下个月"}, ["body.valid_until"], id="valid-until-not-a-date"),
    pytest.param({"salary": 6000}, ["body.salary"], id="unknown-field"),
    pytest.param({"status": "published"}, ["body.status"], id="status-not-writable"),
    pytest.param({"city_code": "3214"}, ["body.city_code"], id="city-3214"),
    pytest.param({"city_code": "1101"}, ["body.city_code"], id="city-1101-beijing"),
    pytest.param({"city_code": "320"}, ["body.city_code"], id="city-3-digits"),
    pytest.param({"salary_min": 8000, "salary_max": 6000}, ["body.salary_max"], id="salary-min-over-max"),
    pytest.param({"salary_min": 0}, ["body.salary_min"], id="salary-zero"),
    pytest.param({"salary_max": 200_001}, ["body.salary_max"], id="salary-too-high"),
    pytest.param({"age_min": 40, "age_max": 20}, ["body.age_max"], id="age-min-over-max"),
    pytest.param({"age_min": 15}, ["body.age_min"], id="age-under-16"),
    pytest.param({"headcount": 0}, ["body.headcount"], id="headcount-0"),
    pytest.param({"headcount": 10_001}, ["body.headcount"], id="headcount-over-10000"),
    pytest.param(
        {"valid_until": (TODAY - timedelta(days=1)).isoformat()}, ["body.valid_until"], id="valid-until-past"
    ),
    pytest.param(
        {"valid_until": (TODAY + timedelta(days=400)).isoformat()},
        ["body.valid_until"],
        id="valid-over-a-year",
    ),
    pytest.param({"occupation_code": "9-99-99-99"}, ["body.occupation_code"], id="occupation-unknown"),
    pytest.param({"occupation_code": "电焊"}, ["body.occupation_code"], id="occupation-not-a-code"),
    pytest.param({"industry": "mining"}, ["body.industry"], id="industry-unknown"),
    pytest.param({"education_min": "幼儿园"}, ["body.education_min"], id="education-unknown"),
    pytest.param({"contract_months": 0}, ["body.contract_months"], id="contract-months-0"),
    pytest.param({"title": "岗"}, ["body.title"], id="title-too-short"),
    pytest.param({"title": "岗" * 101}, ["body.title"], id="title-too-long"),
    pytest.param({"description": "字" * 4001}, ["body.description"], id="description-too-long"),
    pytest.param({"title": "电焊工\u202e资薪高"}, ["body.title"], id="title-bidi-override"),
    pytest.param({"title": "限\u200b男\u200b性"}, ["body.title"], id="title-zero-width"),
    pytest.param({"title": "电焊工\r\n点击领取"}, ["body.title"], id="title-line-break"),
    pytest.param({"description": "包吃住\u2066"}, ["body.description"], id="description-bidi-isolate"),
    pytest.param({"skills": ["电\ufeff焊"]}, ["body.skills"], id="skill-byte-order-mark"),
    pytest.param({"shift": "班" * 41}, ["body.shift"], id="shift-too-long"),
    pytest.param({"skills": ["技" * 31]}, ["body.skills.0"], id="skill-too-long"),
    pytest.param({"skills": [f"技能{n}" for n in range(31)]}, ["body.skills"], id="too-many-skills"),
    pytest.param({"certificates_required": [""]}, ["body.certificates_required.0"], id="empty-certificate"),
    pytest.param({"employer_id": "x" * 37}, ["body.employer_id"], id="employer-id-too-long"),
    pytest.param(
        {"headcount": 0, "city_code": "1101"}, ["body.headcount", "body.city_code"], id="two-at-once"
    ),
]


@pytest.mark.parametrize(("overrides", "fields"), JOB_CASES)
async def test_job_field_rules(
    platform: Platform, world: World, overrides: dict[str, Any], fields: list[str]
) -> None:
    before = await snapshot(platform)
    body = {**job_body(world.employer_a), **overrides}
    response = await platform.client.post("/v1/jobs", json=body, headers=recruiter(world.employer_a))
    assert_problem(response, 422, *fields, slug="validation")
    await assert_unchanged(platform, before)


JOB_REQUIRED = ("employer_id", "title", "city_code", "headcount", "salary_min", "salary_max")


@pytest.mark.parametrize("missing", [*((name,) for name in JOB_REQUIRED), JOB_REQUIRED], ids="-".join)
async def test_job_required_fields(platform: Platform, world: World, missing: tuple[str, ...]) -> None:
    before = await snapshot(platform)
    body = {name: value for name, value in job_body(world.employer_a).items() if name not in missing}
    response = await platform.client.post("/v1/jobs", json=body, headers=ADMIN)
    assert_problem(response, 422, *(f"body.{name}" for name in missing))
    await assert_unchanged(platform, before)


async def test_job_body_that_is_not_an_object_is_422_on_body(platform: Platform) -> None:
    before = await snapshot(platform)
    for empty in (b"", b"null", b"[]", b'"job"'):
        headers = {**ADMIN, "Content-Type": "application/json"}
        answer = await platform.client.post("/v1/jobs", content=empty, headers=headers)
        assert_problem(answer, 422, "body")
    await assert_unchanged(platform, before)


async def test_job_for_unknown_employer_is_404_on_employer_id(platform: Platform) -> None:
    before = await snapshot(platform)
    response = await platform.client.post("/v1/jobs", json=job_body(str(uuid.uuid4())), headers=ADMIN)
    assert_problem(response, 404, "body.employer_id", slug="not-found")
    await assert_unchanged(platform, before)


async def test_unknown_field_inside_benefits_is_422(platform: Platform) -> None:
    employer = await make_employer(platform)
    before = await snapshot(platform)
    body = job_body(employer, benefits={"dormitory": False, "dormitary": True})
    response = await platform.client.post("/v1/jobs", json=body, headers=ADMIN)
    assert_problem(response, 422, "body.benefits.dormitary")
    await assert_unchanged(platform, before)


@pytest.mark.parametrize(
    ("path", "field"),
    [("/v1/jobs", "body.description"), ("/v1/employers", "body.name")],
    ids=["job", "employer"],
)
async def test_nul_character_in_text_is_422(platform: Platform, path: str, field: str) -> None:
    employer = await make_employer(platform)
    before = await snapshot(platform)
    if path == "/v1/jobs":
        body = job_body(employer, description="流水线装配\u0000工作")
    else:
        body = employer_body(name="苏州\u0000精密电子有限公司")
    response = await platform.client.post(path, json=body, headers=ADMIN)
    assert_problem(response, 422, field)
    await assert_unchanged(platform, before)


# --- PATCH /v1/jobs/{id}: field rules, and a refused patch changes nothing ----------------------------------

PATCH_CASES: list[Any] = [
    pytest.param({"salary_min": 8000, "salary_max": 6000}, "body.salary_max", id="salary-min-over-max"),
    pytest.param({"salary_min": 9000}, "body.salary_max", id="salary-min-over-stored-max"),
    pytest.param({"salary_max": 3000}, "body.salary_max", id="salary-max-under-stored-min"),
    pytest.param({"age_min": 50}, "body.age_max", id="age-min-over-stored-max"),
    pytest.param({"age_min": 40, "age_max": 20}, "body.age_max", id="age-min-over-max"),
    pytest.param({"headcount": 0}, "body.headcount", id="headcount-0"),
    pytest.param({"city_code": "3214"}, "body.city_code", id="city-3214"),
    pytest.param({"city_code": "1101"}, "body.city_code", id="city-1101"),
    pytest.param(
        {"valid_until": (TODAY - timedelta(days=1)).isoformat()}, "body.valid_until", id="valid-until-past"
    ),
    pytest.param({"occupation_code": "9-99-99-99"}, "body.occupation_code", id="occupation-unknown"),
    pytest.param({"title": "岗" * 101}, "body.title", id="title-too-long"),
    pytest.param({"description": "字" * 4001}, "body.description", id="description-too-long"),
    pytest.param({"headcount": "many"}, "body.headcount", id="headcount-wrong-type"),
    pytest.param({"title": None}, "body.title", id="title-null"),
    pytest.param({"headcount": None}, "body.headcount", id="headcount-null"),
    pytest.param({"salary_min": None}, "body.salary_min", id="salary-min-null"),
    pytest.param({"city_code": None}, "body.city_code", id="city-null"),
    pytest.param({"bonus": 500}, "body.bonus", id="unknown-field"),
    pytest.param({"employer_id": "someone-else"}, "body.employer_id", id="employer-not-writable"),
    pytest.param({"status": "published"}, "body.status", id="status-not-writable"),
    pytest.param({"version": 99}, "body.version", id="version-not-writable"),
]


@pytest.mark.parametrize(("patch", "field"), PATCH_CASES)
async def test_patch_field_rules_leave_the_job_unchanged(
    platform: Platform, world: World, patch: dict[str, Any], field: str
) -> None:
    before = await snapshot(platform)
    response = await platform.client.patch(
        f"/v1/jobs/{world.job_a}", json=patch, headers=recruiter(world.employer_a)
    )
    assert_problem(response, 422, field, slug="validation")
    await assert_unchanged(platform, before)


@pytest.mark.parametrize("field", ["skills", "certificates_required", "public_welfare"])
async def test_patch_null_list_or_flag_is_not_500(platform: Platform, field: str) -> None:
    employer = await make_employer(platform)
    job = await make_job(platform, employer)
    before = await snapshot(platform)
    response = await platform.client.patch(f"/v1/jobs/{job['id']}", json={field: None}, headers=ADMIN)
    if response.status_code == 200:
        assert response.json()[field] in ([], False)
    else:
        assert_problem(response, 422, f"body.{field}")
        await assert_unchanged(platform, before)


async def test_patch_a_closed_job_is_409(platform: Platform, world: World) -> None:
    before = await snapshot(platform)
    response = await platform.client.patch(
        f"/v1/jobs/{world.closed_b}", json={"title": "重新开放"}, headers=ADMIN
    )
    assert_problem(response, 409, slug="conflict")
    await assert_unchanged(platform, before)


# --- queries and cursors ------------------------------------------------------------------------------------

QUERY_CASES: list[Any] = [
    pytest.param("/v1/jobs", {"limit": "0"}, "query.limit", id="jobs-limit-0"),
    pytest.param("/v1/jobs", {"limit": "201"}, "query.limit", id="jobs-limit-201"),
    pytest.param("/v1/jobs", {"limit": "ten"}, "query.limit", id="jobs-limit-word"),
    pytest.param("/v1/jobs", {"status": "open"}, "query.status", id="jobs-status-unknown"),
    pytest.param("/v1/jobs", {"city_code": "苏州"}, "query.city_code", id="jobs-city-not-a-code"),
    pytest.param("/v1/jobs", {"employer_id": "x" * 37}, "query.employer_id", id="jobs-employer-too-long"),
    pytest.param(
        "/v1/jobs", {"occupation_code": "x" * 21}, "query.occupation_code", id="jobs-occupation-too-long"
    ),
    pytest.param("/v1/employers", {"city_code": "32"}, "query.city_code", id="employers-city-2-digits"),
    pytest.param("/v1/employers", {"limit": "-1"}, "query.limit", id="employers-limit-negative"),
    pytest.param("/v1/feed", {"city_code": "1101"}, "query.city_code", id="feed-city-outside-jiangsu"),
    pytest.param("/v1/feed", {"limit": "1000"}, "query.limit", id="feed-limit-1000"),
    pytest.param("/v1/feed", {"industry": "x" * 41}, "query.industry", id="feed-industry-too-long"),
    pytest.param(
        "/v1/feed/stream", {"city_code": "1101"}, "query.city_code", id="stream-city-outside-jiangsu"
    ),
    pytest.param("/v1/feed/stream", {"since": "-1"}, "query.since", id="stream-since-negative"),
    pytest.param("/v1/feed/stream", {"since": "latest"}, "query.since", id="stream-since-word"),
    pytest.param("/v1/supply-lists/template", {"format": "pdf"}, "query.format", id="template-format-pdf"),
]


@pytest.mark.parametrize(("path", "params", "field"), QUERY_CASES)
async def test_query_rules(platform: Platform, path: str, params: dict[str, str], field: str) -> None:
    response = await asyncio.wait_for(platform.client.get(path, params=params, headers=ADMIN), timeout=10)
    assert_problem(response, 422, field, slug="validation")


async def test_stream_last_event_id_must_be_a_number(platform: Platform) -> None:
    headers = {**ADMIN, "Last-Event-ID": "abc"}
    response = await asyncio.wait_for(platform.client.get("/v1/feed/stream", headers=headers), timeout=10)
    assert_problem(response, 422, "header.Last-Event-ID")


@pytest.mark.parametrize(
    ("params", "headers", "field"),
    [({"since": str(10**25)}, {}, "query.since"), ({}, {"Last-Event-ID": "9" * 20}, "header.Last-Event-ID")],
    ids=["since", "last-event-id"],
)
async def test_stream_position_beyond_64_bits_is_422(
    platform: Platform, params: dict[str, str], headers: dict[str, str], field: str
) -> None:
    async def open_stream() -> httpx.Response:
        async with platform.client.stream(
            "GET", "/v1/feed/stream", params=params, headers={**PUBLIC, **headers}
        ) as response:
            if response.status_code != 200:
                await response.aread()
            return response

    response = await asyncio.wait_for(open_stream(), timeout=10)
    assert response.status_code != 200, "the stream was opened for a position no database can hold"
    assert_problem(response, 422, field)


_BAD_ANY_CURSOR = {
    "not-base64": "!!!",
    "not-json": b64("hello"),
    "not-a-list": b64({"after": 1}),
    "too-long": "A" * 501,
    "non-ascii": "Zm9v\u00e9",
}
_BAD_KEYED_CURSOR = {
    "/v1/jobs": {"wrong-arity": b64(["2024-01-01T00:00:00+00:00"]), "not-a-time": b64(["yesterday", "x"])},
    "/v1/employers": {"wrong-arity": b64([1, 2, 3]), "not-a-time": b64([[2024, 1, 1], "x"])},
    "/v1/feed": {"wrong-arity": b64([1, 2]), "not-a-number": b64(["42"])},
}
BAD_CURSORS = [
    pytest.param(path, cursor, id=f"{path.rsplit('/', 1)[-1]}-{name}")
    for path, keyed in _BAD_KEYED_CURSOR.items()
    for name, cursor in {**_BAD_ANY_CURSOR, **keyed}.items()
]


@pytest.mark.parametrize(("path", "cursor"), BAD_CURSORS)
async def test_bad_cursor_is_422_on_cursor(platform: Platform, path: str, cursor: str) -> None:
    response = await platform.client.get(path, params={"cursor": cursor}, headers=ADMIN)
    assert_problem(response, 422, "query.cursor", slug="validation")


@pytest.mark.parametrize(
    ("path", "cursor"),
    [
        pytest.param(
            "/v1/jobs",
            encode_cursor("2024-01-01T00:00:00", "x"),
            id="jobs-naive-time",
        ),
        pytest.param(
            "/v1/employers",
            encode_cursor("20240101", "x"),
            id="employers-naive-time",
        ),
        pytest.param(
            "/v1/feed",
            encode_cursor(10**30),
            id="feed-huge-number",
        ),
        pytest.param(
            "/v1/feed",
            encode_cursor(True),
            id="feed-boolean",
        ),
    ],
)
async def test_forged_cursor_is_422_not_500(platform: Platform, path: str, cursor: str) -> None:
    response = await platform.client.get(path, params={"cursor": cursor}, headers=ADMIN)
    assert_problem(response, 422, "query.cursor", slug="validation")


async def test_cursors_the_api_hands_out_are_accepted(platform: Platform, world: World) -> None:
    """The control for the cases above: next_cursor walks every list one item at a time, without repeats."""
    for path in ("/v1/jobs", "/v1/employers", "/v1/feed"):
        seen: list[str] = []
        cursor: str | None = None
        for _ in range(3):
            params = {"limit": "1", **({"cursor": cursor} if cursor else {})}
            response = await platform.client.get(path, params=params, headers=ADMIN)
            assert response.status_code == 200, response.text
            page = response.json()
            seen.extend(item["id"] for item in page["items"])
            cursor = page["next_cursor"]
            if cursor is None:
                break
        assert len(seen) == len(set(seen)) >= 1, (path, seen)


# --- unknown paths, unknown ids, wrong methods --------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/v1/nothing-here"),
        ("GET", "/v2/jobs"),
        ("POST", "/v1/jobs/{job}/reopen"),
        ("GET", "/v1/feed/streams"),
        ("GET", "/v1/employers/{employer}/jobs"),
        ("GET", "/v1/jobs/{unknown}"),
        ("PATCH", "/v1/jobs/{unknown}"),
        ("POST", "/v1/jobs/{unknown}/close"),
        ("GET", "/v1/employers/{unknown}"),
        ("GET", "/v1/supply-lists/{unknown}"),
    ],
)
async def test_unknown_path_or_id_is_404(platform: Platform, world: World, method: str, path: str) -> None:
    url = path.format(job=world.job_a, employer=world.employer_a, unknown=uuid.uuid4())
    kwargs: dict[str, Any] = {"json": {"title": "新的岗位名称"}} if method == "PATCH" else {}
    response = await platform.client.request(method, url, headers=ADMIN, **kwargs)
    assert_problem(response, 404, slug="not-found")


@pytest.mark.parametrize(
    ("method", "path", "allowed"),
    [
        ("DELETE", "/v1/employers", {"GET", "POST"}),
        ("PUT", "/v1/employers/{employer}", {"GET"}),
        ("DELETE", "/v1/jobs", {"GET", "POST"}),
        ("DELETE", "/v1/jobs/{job}", {"GET", "PATCH"}),
        ("PUT", "/v1/jobs/{job}", {"GET", "PATCH"}),
        ("GET", "/v1/jobs/{job}/close", {"POST"}),
        ("PUT", "/v1/supply-lists/imports", {"GET", "POST"}),  # GET reads it as a list id
        ("POST", "/v1/supply-lists/template", {"GET"}),
        ("DELETE", "/v1/supply-lists/{list}", {"GET"}),
        ("POST", "/v1/feed", {"GET"}),
        ("POST", "/v1/feed/stream", {"GET"}),
    ],
)
async def test_wrong_method_is_405(
    platform: Platform, world: World, method: str, path: str, allowed: set[str]
) -> None:
    before = await snapshot(platform)
    url = path.format(job=world.job_a, employer=world.employer_a, list=world.list_b)
    kwargs: dict[str, Any] = {"json": {}} if method in ("PUT", "POST") else {}
    response = await platform.client.request(method, url, headers=ADMIN, **kwargs)
    assert_problem(response, 405, slug="method-not-allowed")
    offered = _allow(response)
    assert offered and offered <= allowed | {"HEAD"}, offered
    await assert_unchanged(platform, before)


def _allow(response: httpx.Response) -> set[str]:
    return {method.strip() for method in response.headers.get("allow", "").split(",") if method.strip()}


@pytest.mark.parametrize(
    ("method", "path", "allowed"),
    [
        ("DELETE", "/v1/employers", {"GET", "POST"}),
        ("DELETE", "/v1/jobs", {"GET", "POST"}),
        ("PUT", "/v1/supply-lists/imports", {"GET", "POST"}),
    ],
)
async def test_405_allow_lists_every_method(
    platform: Platform, method: str, path: str, allowed: set[str]
) -> None:
    response = await platform.client.request(method, path, headers=ADMIN)
    assert_problem(response, 405)
    assert _allow(response) >= allowed


async def test_405_detail_is_chinese(platform: Platform, world: World) -> None:
    response = await platform.client.delete(f"/v1/jobs/{world.job_a}", headers=ADMIN)
    body = assert_problem(response, 405)
    assert CHINESE.search(body["detail"]), body["detail"]


# === 2. tokens ==============================================================================================


def _claims(**overrides: Any) -> dict[str, Any]:
    now = int(time.time())
    claims = {
        "sub": "intruder",
        "role": "admin",
        "iat": now,
        "exp": now + 600,
        "aud": "eastwest",
        "iss": "eastwest",
    }
    return {**claims, **overrides}


def _unsigned(claims: dict[str, Any]) -> str:
    def part(value: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(value).encode()).decode().rstrip("=")

    return f"{part({'alg': 'none', 'typ': 'JWT'})}.{part(claims)}."


def _hs512(claims: dict[str, Any]) -> str:
    """Signed with the right secret but an algorithm the verifier does not pin."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # PyJWT warns that the test secret is short for SHA-512
        return jwt.encode(claims, SECRET, algorithm="HS512")


def _bearer(token: str) -> str:
    return f"Bearer {token}"


def _without(name: str) -> dict[str, Any]:
    claims = _claims()
    del claims[name]
    return claims


# Each builds the Authorization header (None: no header) when the test runs, so "valid" parts stay valid.
BAD_CREDENTIALS: list[Any] = [
    pytest.param(lambda: None, id="no-header"),
    pytest.param(lambda: "Basic YWRtaW46YWRtaW4=", id="basic-scheme"),
    pytest.param(lambda: jwt.encode(_claims(), SECRET, algorithm="HS256"), id="token-without-scheme"),
    pytest.param(lambda: "Bearer", id="bearer-without-token"),
    pytest.param(lambda: _bearer("not-a-jwt"), id="garbage"),
    pytest.param(lambda: _bearer("a.b.c"), id="three-garbage-parts"),
    pytest.param(
        lambda: _bearer(jwt.encode(_claims(iat=int(time.time()) - 7200, exp=int(time.time()) - 60), SECRET)),
        id="expired",
    ),
    pytest.param(lambda: _bearer(jwt.encode(_claims(), "another-secret-" + "y" * 32)), id="wrong-signature"),
    pytest.param(lambda: _bearer(_unsigned(_claims())), id="alg-none"),
    pytest.param(lambda: _bearer(_hs512(_claims())), id="alg-not-pinned"),
    pytest.param(lambda: _bearer(jwt.encode(_claims(aud="another-platform"), SECRET)), id="wrong-audience"),
    pytest.param(lambda: _bearer(jwt.encode(_claims(iss="https://idp.example"), SECRET)), id="wrong-issuer"),
    pytest.param(lambda: _bearer(jwt.encode(_without("exp"), SECRET)), id="no-expiry"),
    pytest.param(lambda: _bearer(jwt.encode(_without("sub"), SECRET)), id="no-subject"),
    pytest.param(lambda: _bearer(jwt.encode(_claims(role="superuser"), SECRET)), id="unknown-role"),
    pytest.param(
        lambda: _bearer(jwt.encode(_claims(role="station"), SECRET)), id="station-without-station-id"
    ),
    pytest.param(
        lambda: _bearer(jwt.encode(_claims(role="partner"), SECRET)), id="partner-without-provinces"
    ),
    pytest.param(
        lambda: _bearer(jwt.encode(_claims(role="partner", provinces=["520"]), SECRET)),
        id="partner-bad-province",
    ),
    pytest.param(
        lambda: _bearer(jwt.encode(_claims(role="recruiter"), SECRET)), id="recruiter-without-employer"
    ),
    pytest.param(lambda: _bearer(jwt.encode(_claims(role="training"), SECRET)), id="training-without-base"),
    pytest.param(
        lambda: _bearer(jwt.encode(_claims(role="operator"), SECRET)), id="operator-without-operator-id"
    ),
]


@pytest.mark.parametrize("endpoint", ENDPOINTS, ids=str)
@pytest.mark.parametrize("credentials", BAD_CREDENTIALS)
async def test_bad_credentials_are_401_everywhere(
    platform: Platform, world: World, endpoint: Endpoint, credentials: Callable[[], str | None]
) -> None:
    header = credentials()
    response = await call(platform, endpoint, world, {"Authorization": header} if header is not None else {})
    assert_problem(response, 401, slug="unauthorized")
    assert response.headers["www-authenticate"].startswith("Bearer"), response.headers


@pytest.mark.parametrize(
    "endpoint", [e for e in ENDPOINTS if e.method == "GET" and not e.path.endswith("/stream")], ids=str
)
async def test_the_same_calls_pass_with_a_valid_token(
    platform: Platform, world: World, endpoint: Endpoint
) -> None:
    """The control for the table above: the 401s come from the credentials, not from the requests."""
    response = await call(platform, endpoint, world, ADMIN)
    assert response.status_code == 200, response.text


async def test_refused_tokens_change_nothing(platform: Platform, world: World) -> None:
    """The 401 table does not compare state; this does, for every write with a forged (alg none) token."""
    before = await snapshot(platform)
    forged = {"Authorization": _bearer(_unsigned(_claims()))}
    for endpoint in ENDPOINTS:
        if endpoint.method != "GET":
            assert_problem(await call(platform, endpoint, world, forged), 401)
    await assert_unchanged(platform, before)


# --- wrong role: 403 ----------------------------------------------------------------------------------------

ROLES: dict[str, Callable[[World], dict[str, str]]] = {
    "public": lambda world: PUBLIC,
    "partner": lambda world: PARTNER,
    "station": lambda world: STATION,
    "training": lambda world: TRAINING,
    "recruiter": lambda world: recruiter(world.employer_a),
}


@pytest.mark.parametrize(
    ("role", "endpoint"),
    [
        ("public", Endpoint("POST", "/v1/employers")),
        ("recruiter", Endpoint("POST", "/v1/employers")),
        ("partner", Endpoint("POST", "/v1/employers")),
        ("station", Endpoint("POST", "/v1/employers")),
        ("training", Endpoint("POST", "/v1/employers")),
        ("public", Endpoint("POST", "/v1/jobs")),
        ("partner", Endpoint("POST", "/v1/jobs")),
        ("station", Endpoint("POST", "/v1/jobs")),
        ("training", Endpoint("POST", "/v1/jobs")),
        ("public", Endpoint("POST", "/v1/supply-lists/imports")),
        ("partner", Endpoint("POST", "/v1/supply-lists/imports")),
        ("station", Endpoint("POST", "/v1/supply-lists/imports")),
        ("public", Endpoint("GET", "/v1/employers")),
        ("recruiter", Endpoint("GET", "/v1/employers")),
        ("training", Endpoint("GET", "/v1/employers")),
        ("public", Endpoint("GET", "/v1/jobs")),
    ],
    ids=lambda value: str(value).replace(" ", "-"),
)
async def test_wrong_role_is_403(platform: Platform, world: World, role: str, endpoint: Endpoint) -> None:
    before = await snapshot(platform)
    response = await call(platform, endpoint, world, ROLES[role](world))
    assert_problem(response, 403, slug="forbidden")
    await assert_unchanged(platform, before)


# --- another employer's objects: 404, and nothing changes ---------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path", "field"),
    [
        ("GET", "/v1/jobs/{job_b}", None),
        ("PATCH", "/v1/jobs/{job_b}", None),
        ("POST", "/v1/jobs/{job_b}/close", None),
        ("GET", "/v1/jobs/{flagged_b}", None),
        ("PATCH", "/v1/jobs/{flagged_b}", None),
        ("POST", "/v1/jobs", "body.employer_id"),
        ("GET", "/v1/employers/{employer_b}", None),
        ("GET", "/v1/supply-lists/{list_b}", None),
        ("POST", "/v1/supply-lists/imports", "form.employer_id"),
    ],
)
async def test_recruiter_cannot_reach_another_employer(
    platform: Platform, world: World, method: str, path: str, field: str | None
) -> None:
    before = await snapshot(platform)
    url = path.format(
        job_b=world.job_b, flagged_b=world.flagged_b, employer_b=world.employer_b, list_b=world.list_b
    )
    kwargs: dict[str, Any] = {}
    if method == "PATCH":
        kwargs["json"] = {"title": "被别人改掉的岗位", "description": "流水线装配"}
    elif url == "/v1/jobs":
        kwargs["json"] = job_body(world.employer_b)
    elif url.endswith("/imports"):
        kwargs["data"] = {"employer_id": world.employer_b}
        kwargs["files"] = {"file": ("jobs.csv", sheet(GOOD_ROWS, "csv"), "text/csv")}
    response = await platform.client.request(method, url, headers=recruiter(world.employer_a), **kwargs)
    assert_problem(response, 404, *([field] if field else []), slug="not-found")
    await assert_unchanged(platform, before)


async def test_recruiter_lists_only_its_own_jobs(platform: Platform, world: World) -> None:
    mine = await all_pages(platform, "/v1/jobs", recruiter(world.employer_a), employer_id=world.employer_b)
    assert mine and {job["employer_id"] for job in mine} == {world.employer_a}


@pytest.mark.parametrize("reader", [PARTNER, STATION, TRAINING], ids=["partner", "station", "training"])
async def test_partners_and_stations_see_only_published_jobs(
    platform: Platform, world: World, reader: dict[str, str]
) -> None:
    before = await snapshot(platform)
    for job in (world.job_a, world.job_b):
        response = await platform.client.get(f"/v1/jobs/{job}", headers=reader)
        assert response.status_code == 200 and response.json()["status"] == "published", response.text
    for hidden in (world.flagged_b, world.closed_b):
        assert_problem(await platform.client.get(f"/v1/jobs/{hidden}", headers=reader), 404)
    listed = {job["id"] for job in await all_pages(platform, "/v1/jobs", reader)}
    assert {world.job_a, world.job_b} <= listed
    assert not {world.flagged_b, world.closed_b} & listed
    flagged = await all_pages(platform, "/v1/jobs", reader, status="flagged")
    assert flagged == []
    # reading is not writing
    patched = await platform.client.patch(f"/v1/jobs/{world.job_b}", json={"title": "改掉"}, headers=reader)
    assert_problem(patched, 404)
    assert_problem(await platform.client.post(f"/v1/jobs/{world.job_b}/close", headers=reader), 404)
    await assert_unchanged(platform, before)


# === 3. idempotency =========================================================================================

IDEMPOTENT_CREATES = ("/v1/employers", "/v1/jobs")


async def _create_body(platform: Platform, path: str) -> tuple[dict[str, Any], dict[str, str], str]:
    """A body for a fresh owner, the caller's headers, and the owner's employer id."""
    employer = await make_employer(platform)
    if path == "/v1/employers":
        return employer_body(), ADMIN, employer
    return job_body(employer), recruiter(employer), employer


@pytest.mark.parametrize("path", IDEMPOTENT_CREATES)
async def test_same_key_and_body_replays_the_answer(platform: Platform, path: str) -> None:
    body, headers, employer = await _create_body(platform, path)
    before = await snapshot(platform)
    key = new_key()
    first = await platform.client.post(path, json=body, headers={**headers, "Idempotency-Key": key})
    second = await platform.client.post(path, json=body, headers={**headers, "Idempotency-Key": key})
    assert first.status_code == second.status_code == 201, (first.text, second.text)
    assert first.json() == second.json()
    assert "idempotent-replayed" not in first.headers
    assert second.headers["idempotent-replayed"] == "true"
    after = await snapshot(platform)
    if path == "/v1/employers":
        assert after.employers.keys() - before.employers.keys() == {first.json()["id"]}
        assert after.outbox == before.outbox
    else:
        assert [job["id"] for job in await jobs_of(platform, employer)] == [first.json()["id"]]
        assert after.jobs.keys() - before.jobs.keys() == {first.json()["id"]}
        assert after.outbox == before.outbox + 1  # one job.published, not two


@pytest.mark.parametrize("path", IDEMPOTENT_CREATES)
async def test_same_key_with_another_body_is_refused(platform: Platform, path: str) -> None:
    body, headers, _ = await _create_body(platform, path)
    key = new_key()
    first = await platform.client.post(path, json=body, headers={**headers, "Idempotency-Key": key})
    assert first.status_code == 201, first.text
    before = await snapshot(platform)
    other = {**body, "name": "另一家用人单位"} if path == "/v1/employers" else {**body, "headcount": 99}
    if path == "/v1/employers":
        other["credit_code"] = credit_code()
    response = await platform.client.post(path, json=other, headers={**headers, "Idempotency-Key": key})
    assert_problem(response, 422, slug="idempotency-key-reused")
    await assert_unchanged(platform, before)


@pytest.mark.parametrize("path", [*IDEMPOTENT_CREATES, "/v1/supply-lists/imports"])
@pytest.mark.parametrize(
    "key",
    ["k" * 300, "k" * 201, "has space", "tab\there", "", "ключ".encode()],
    ids=["300-chars", "201-chars", "space", "tab", "empty", "non-ascii"],
)
async def test_invalid_idempotency_key_is_422_on_the_header(
    platform: Platform, world: World, path: str, key: str | bytes
) -> None:
    before = await snapshot(platform)
    headers: dict[str, Any] = {**ADMIN, "Idempotency-Key": key}
    if path.endswith("/imports"):
        files = {"file": ("jobs.csv", sheet(GOOD_ROWS, "csv"), "text/csv")}
        data = {"employer_id": world.employer_a}
        response = await platform.client.post(path, data=data, files=files, headers=headers)
    else:
        body = employer_body() if path == "/v1/employers" else job_body(world.employer_a)
        response = await platform.client.post(path, json=body, headers=headers)
    assert_problem(response, 422, "header.Idempotency-Key", slug="validation")
    await assert_unchanged(platform, before)


async def test_same_key_from_two_callers_does_not_collide(platform: Platform) -> None:
    key = new_key()
    first = await platform.client.post(
        "/v1/employers",
        json=employer_body(),
        headers={**auth("admin", sub="admin-a"), "Idempotency-Key": key},
    )
    second = await platform.client.post(
        "/v1/employers",
        json=employer_body(),
        headers={**auth("admin", sub="admin-b"), "Idempotency-Key": key},
    )
    assert first.status_code == second.status_code == 201, (first.text, second.text)
    assert first.json()["id"] != second.json()["id"]
    assert "idempotent-replayed" not in second.headers
    employer_a, employer_b = first.json()["id"], second.json()["id"]
    jobs = []
    for employer in (employer_a, employer_b):
        response = await platform.client.post(
            "/v1/jobs", json=job_body(employer), headers={**recruiter(employer), "Idempotency-Key": key}
        )
        assert response.status_code == 201 and "idempotent-replayed" not in response.headers, response.text
        jobs.append(response.json())
    assert [job["employer_id"] for job in jobs] == [employer_a, employer_b]


async def test_a_refused_request_does_not_use_up_its_key(platform: Platform, world: World) -> None:
    """The key is stored with the effect: a 404 stores nothing, so the retry with a fixed body runs."""
    employer = await make_employer(platform)
    headers = {**recruiter(employer), "Idempotency-Key": new_key()}
    refused = await platform.client.post("/v1/jobs", json=job_body(world.employer_b), headers=headers)
    assert_problem(refused, 404, "body.employer_id")
    retried = await platform.client.post("/v1/jobs", json=job_body(employer), headers=headers)
    assert retried.status_code == 201 and "idempotent-replayed" not in retried.headers, retried.text
    assert [job["id"] for job in await jobs_of(platform, employer)] == [retried.json()["id"]]


# === 4. supply-list imports =================================================================================


@pytest.mark.parametrize("fmt", ["xlsx", "csv"])
async def test_import_takes_good_rows_reports_bad_ones_and_replays(platform: Platform, fmt: str) -> None:
    employer = await make_employer(platform)
    headers = recruiter(employer)
    content = sheet(GOOD_ROWS + BAD_ROWS, fmt)
    key = new_key()
    response = await upload(platform, employer, f"供给清单.{fmt}", content, headers, key)
    assert response.status_code == 201, response.text
    result = response.json()
    assert result["accepted"] == 3 and len(result["job_ids"]) == 3
    assert [(e["row"], e["column"], e["code"]) for e in result["rejected"]] == BAD_ROW_ERRORS
    assert all(CHINESE.search(error["message"]) for error in result["rejected"])

    jobs = await jobs_of(platform, employer)
    assert sorted(job["id"] for job in jobs) == sorted(result["job_ids"])
    assert {job["title"] for job in jobs} == {str(row["岗位名称"]) for row in GOOD_ROWS}
    assert {job["supply_list_id"] for job in jobs} == {result["list_id"]}
    assert all(job["status"] == "published" for job in jobs)

    async def listed() -> bool:
        return set(result["job_ids"]) <= await feed_ids(platform)

    await eventually(listed, what="the imported jobs in the feed")

    replay = await upload(platform, employer, f"供给清单.{fmt}", content, headers, key)
    assert replay.status_code == 201 and replay.json() == result
    assert replay.headers["idempotent-replayed"] == "true"
    assert len(await jobs_of(platform, employer)) == 3

    stored = await platform.client.get(f"/v1/supply-lists/{result['list_id']}", headers=headers)
    assert stored.status_code == 200, stored.text
    assert (stored.json()["accepted"], stored.json()["rejected"]) == (3, result["rejected"])

    before = await snapshot(platform)
    other = await upload(platform, employer, f"供给清单.{fmt}", sheet(GOOD_ROWS[:1], fmt), headers, key)
    assert_problem(other, 422, slug="idempotency-key-reused")
    await assert_unchanged(platform, before)


async def test_stored_supply_list_matches_the_import_answer(platform: Platform) -> None:
    employer = await make_employer(platform)
    response = await upload(platform, employer, "jobs.csv", sheet(GOOD_ROWS, "csv"), recruiter(employer))
    assert response.status_code == 201, response.text
    stored = await platform.client.get(f"/v1/supply-lists/{response.json()['list_id']}", headers=ADMIN)
    assert stored.json() == response.json()


@pytest.mark.parametrize(
    ("filename", "content", "field", "data"),
    [
        pytest.param("jobs.txt", b"title,city\n", "form.file", None, id="txt-file"),
        pytest.param("jobs.xlsx", b"", "form.file", None, id="empty-file"),
        pytest.param("jobs.xls", b"\xd0\xcf\x11\xe0 old excel", "form.file", None, id="old-xls"),
        pytest.param("jobs.xlsx", b"PK\x03\x04 not really a workbook", "form.file", None, id="corrupt-xlsx"),
        pytest.param(
            "jobs.csv", "岗位名称,月薪下限\n焊工,5000\n".encode(), "form.file", None, id="csv-missing-columns"
        ),
        pytest.param("jobs.csv", b"\xff\xfe\x00\x00garbage", "form.file", None, id="csv-undecodable"),
        pytest.param(
            "jobs.csv",
            sheet(GOOD_ROWS, "csv"),
            "form.employer_id",
            {"employer_id": ""},
            id="employer-empty",
        ),
        pytest.param(
            "jobs.csv",
            sheet(GOOD_ROWS, "csv"),
            "form.employer_id",
            {"employer_id": "x" * 37},
            id="employer-too-long",
        ),
        pytest.param(
            "jobs.csv",
            sheet(GOOD_ROWS, "csv"),
            "form.employer_id",
            {},
            id="employer-missing",
        ),
    ],
)
async def test_bad_upload_is_422_on_the_form_field(
    platform: Platform, world: World, filename: str, content: bytes, field: str, data: dict[str, str] | None
) -> None:
    before = await snapshot(platform)
    form = {"employer_id": world.employer_a} if data is None else data
    response = await platform.client.post(
        "/v1/supply-lists/imports",
        data=form,
        files={"file": (filename, content, "application/octet-stream")},
        headers={**ADMIN, "Idempotency-Key": new_key()},
    )
    assert_problem(response, 422, field, slug="validation")
    await assert_unchanged(platform, before)


async def test_upload_without_a_file_is_422_on_form_file(platform: Platform, world: World) -> None:
    before = await snapshot(platform)
    response = await platform.client.post(
        "/v1/supply-lists/imports",
        data={"employer_id": world.employer_a},
        files={"attachment": ("jobs.csv", sheet(GOOD_ROWS, "csv"), "text/csv")},
        headers=ADMIN,
    )
    assert_problem(response, 422, "form.file")
    await assert_unchanged(platform, before)


async def test_upload_for_unknown_employer_is_404_on_employer_id(platform: Platform) -> None:
    before = await snapshot(platform)
    response = await upload(platform, str(uuid.uuid4()), "jobs.csv", sheet(GOOD_ROWS, "csv"), ADMIN)
    assert_problem(response, 404, "form.employer_id", slug="not-found")
    await assert_unchanged(platform, before)


@pytest.mark.parametrize("fmt", ["xlsx", "csv"])
async def test_template_parses_back_into_a_valid_row(platform: Platform, fmt: str) -> None:
    response = await platform.client.get("/v1/supply-lists/template", params={"format": fmt}, headers=PUBLIC)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith(XLSX if fmt == "xlsx" else "text/csv")
    assert f'filename="supply-list-template.{fmt}"' in response.headers["content-disposition"]
    rows = read_table(response.content, f"template.{fmt}", required_headers=REQUIRED_HEADERS)
    assert len(rows) == 1 and set(rows[0].values) == set(SHEET_HEADERS)
    jobs, errors = parse_supply_rows(rows, "employer-1")
    assert errors == [] and len(jobs) == 1
