"""The feed as a publication: numbered snapshots (JSON, JSON-LD, xlsx), the changes between them, the
schedule, and province editions ordered by the fit to a partner province's registered workers."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import re
from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

import nats
import pytest
from sqlalchemy import select

from libs.db import BEIJING, beijing_date
from libs.events.contracts import SNAPSHOT_PUBLISHED
from libs.spreadsheets import read_table
from services.feed.background import run_schedule
from services.feed.models import FeedJob, Snapshot
from services.feed.settings import FeedSettings
from tests.factories import job_body
from tests.harness import ADMIN, PUBLIC, Platform, auth, eventually
from tests.integration.test_demand import new_station, register, station_token
from tests.integration.test_job_feed_flow import create_employer

pytestmark = pytest.mark.services("stations", "demand", "supply", "feed")


@pytest.fixture(autouse=True)
def no_schedule(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Snapshots only when a test asks for one, so version numbers are the test's own."""
    monkeypatch.setenv("EW_FEED_SNAPSHOT_EVERY_SECONDS", "0")
    monkeypatch.setenv("EW_FEED_SNAPSHOT_DAILY_AT", "")
    yield


# --- helpers ------------------------------------------------------------------------------------------------


async def post_job(platform: Platform, employer_id: str, **overrides: Any) -> dict[str, Any]:
    response = await platform.client.post("/v1/jobs", json=job_body(employer_id, **overrides), headers=ADMIN)
    assert response.status_code == 201, response.text
    return dict(response.json())


async def patch_job(platform: Platform, job_id: str, **fields: Any) -> dict[str, Any]:
    response = await platform.client.patch(f"/v1/jobs/{job_id}", json=fields, headers=ADMIN)
    assert response.status_code == 200, response.text
    return dict(response.json())


async def close_job(platform: Platform, job_id: str) -> dict[str, Any]:
    response = await platform.client.post(f"/v1/jobs/{job_id}/close", headers=ADMIN)
    assert response.status_code == 200, response.text
    return dict(response.json())


async def synced(platform: Platform, *jobs: dict[str, Any]) -> None:
    """Until the feed holds each job at the version supply answered with."""
    wanted = {job["id"]: job["version"] for job in jobs}

    async def caught_up() -> bool:
        async with platform.runtime("feed").sessions() as session:
            rows = await session.execute(
                select(FeedJob.job_id, FeedJob.version).where(FeedJob.job_id.in_(list(wanted)))
            )
            got = dict(rows.tuples().all())
            return got == wanted

    await eventually(caught_up, what="the feed catches up with supply")


async def publish(platform: Platform) -> dict[str, Any]:
    response = await platform.client.post("/v1/feed/snapshots", headers=ADMIN)
    assert response.status_code == 201, response.text
    snapshot = dict(response.json())
    assert response.headers["location"] == f"/v1/feed/snapshots/{snapshot['version']}"
    return snapshot


async def changes(platform: Platform, since: int) -> dict[str, Any]:
    response = await platform.client.get("/v1/feed/changes", params={"since": since}, headers=PUBLIC)
    assert response.status_code == 200, response.text
    return dict(response.json())


def summary(result: dict[str, Any]) -> tuple[set[str], set[str], set[str]]:
    return (
        {item["id"] for item in result["added"]},
        {item["id"] for item in result["changed"]},
        {item["id"] for item in result["removed"]},
    )


# --- snapshots and changes ----------------------------------------------------------------------------------


async def test_one_add_one_change_one_tombstone_between_two_snapshots(platform: Platform) -> None:
    employer = await create_employer(platform)
    kept = await post_job(platform, employer["id"], title="保安员", industry="security")
    to_change = await post_job(platform, employer["id"], title="仓库管理员", industry="logistics")
    to_close = await post_job(platform, employer["id"], title="快递分拣员", industry="logistics")
    await synced(platform, kept, to_change, to_close)
    first = await publish(platform)
    assert first["version"] == 1 and first["jobs"] == 3 and first["trigger"] == "request"
    assert first["feed_version"] == 3

    added = await post_job(platform, employer["id"], title="电子产品装配工")
    changed = await patch_job(platform, to_change["id"], title="仓储管理员", salary_max=7800)
    closed = await close_job(platform, to_close["id"])
    # came and went between the two snapshots: neither added nor removed
    fleeting = await post_job(platform, employer["id"], title="临时搬运工")
    fleeting_closed = await close_job(platform, fleeting["id"])
    await synced(platform, added, changed, closed, fleeting_closed)
    second = await publish(platform)
    assert second["version"] == 2 and second["jobs"] == 3

    result = await changes(platform, 1)
    assert (result["since"], result["version"]) == (1, 2)
    assert result["feed_version"] == second["feed_version"]
    assert summary(result) == ({added["id"]}, {to_change["id"]}, {to_close["id"]})
    assert len(result["added"]) == len(result["changed"]) == len(result["removed"]) == 1
    assert result["changed"][0]["title"] == "仓储管理员" and result["changed"][0]["salary_max"] == 7800
    tombstone = result["removed"][0]
    assert set(tombstone) == {"id", "removed_at"}
    removed_at = datetime.fromisoformat(tombstone["removed_at"])
    assert removed_at.tzinfo is not None
    assert (
        datetime.fromisoformat(first["created_at"])
        < removed_at
        <= datetime.fromisoformat(second["created_at"])
    )
    # up to date: nothing to do; the ETag is stable for the same pair of versions
    assert summary(await changes(platform, 2)) == (set(), set(), set())
    response = await platform.client.get("/v1/feed/changes", params={"since": 1}, headers=PUBLIC)
    cached = await platform.client.get(
        "/v1/feed/changes", params={"since": 1}, headers={**PUBLIC, "If-None-Match": response.headers["etag"]}
    )
    assert cached.status_code == 304


async def test_one_job_through_three_snapshots_shows_in_the_right_comparisons(platform: Platform) -> None:
    """Added in 2, changed in 3, closed in 4: each comparison sees exactly what a reader must do."""
    employer = await create_employer(platform)
    other = await post_job(platform, employer["id"], title="保安员", industry="security")
    await synced(platform, other)
    base = (await publish(platform))["version"]

    job = await post_job(platform, employer["id"], title="焊工", industry="manufacturing")
    await synced(platform, job)
    with_job = (await publish(platform))["version"]
    assert summary(await changes(platform, base)) == ({job["id"]}, set(), set())

    job = await patch_job(platform, job["id"], title="电焊工", headcount=40)
    await synced(platform, job)
    after_change = (await publish(platform))["version"]
    assert summary(await changes(platform, with_job)) == (set(), {job["id"]}, set())
    from_base = await changes(platform, base)
    assert summary(from_base) == ({job["id"]}, set(), set())  # one add, with the latest content
    assert from_base["added"][0]["title"] == "电焊工" and from_base["added"][0]["headcount"] == 40

    job = await close_job(platform, job["id"])
    await synced(platform, job)
    latest = (await publish(platform))["version"]
    assert latest == after_change + 1
    assert summary(await changes(platform, after_change)) == (set(), set(), {job["id"]})
    assert summary(await changes(platform, with_job)) == (set(), set(), {job["id"]})
    assert summary(await changes(platform, base)) == (set(), set(), set())  # came and went


async def test_changes_come_in_pages_against_the_snapshot_of_the_first_page(platform: Platform) -> None:
    """Seven differences in pages of two: every difference once, in job-id order, and a snapshot published
    mid-walk does not tear it."""
    employer = await create_employer(platform)
    held = [await post_job(platform, employer["id"], title=f"岗位{i}") for i in range(4)]
    await synced(platform, *held)
    base = (await publish(platform))["version"]
    touched = [await post_job(platform, employer["id"], title=f"新岗位{i}") for i in range(3)]
    touched += [await patch_job(platform, job["id"], salary_max=9000) for job in held[:2]]
    touched += [await close_job(platform, job["id"]) for job in held[2:]]
    await synced(platform, *touched)
    until = (await publish(platform))["version"]
    whole = await changes(platform, base)
    assert sum(map(len, summary(whole))) == 7 and whole["next_cursor"] is None

    pages: list[dict[str, Any]] = []
    params: dict[str, Any] = {"since": base, "limit": 2}
    while True:
        response = await platform.client.get("/v1/feed/changes", params=params, headers=PUBLIC)
        assert response.status_code == 200, response.text
        pages.append(response.json())
        if len(pages) == 1:  # a newer snapshot appears mid-walk
            extra = await post_job(platform, employer["id"], title="后来的岗位")
            await synced(platform, extra)
            await publish(platform)
        if pages[-1]["next_cursor"] is None:
            break
        params = {"since": base, "limit": 2, "cursor": pages[-1]["next_cursor"]}
    assert [page["version"] for page in pages] == [until] * 4
    per_page = [
        sorted(item["id"] for kind in ("added", "changed", "removed") for item in page[kind])
        for page in pages
    ]
    assert [len(ids) for ids in per_page] == [2, 2, 2, 1]
    assert all(before[-1] < after[0] for before, after in itertools.pairwise(per_page))
    assert len({id_ for ids in per_page for id_ in ids}) == 7
    merged = tuple(set().union(*(summary(page)[k] for page in pages)) for k in range(3))
    assert merged == summary(whole)
    for cursor in ("garbage", "WzEsMl0"):  # not base64 JSON; [1, 2] has no job id
        bad = await platform.client.get(
            "/v1/feed/changes", params={"since": base, "cursor": cursor}, headers=PUBLIC
        )
        assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "query.cursor"


async def test_changes_refuses_unknown_and_invalid_versions(platform: Platform) -> None:
    response = await platform.client.get("/v1/feed/changes", params={"since": 1}, headers=PUBLIC)
    assert response.status_code == 404, response.text  # no snapshot yet
    await publish(platform)
    for since in ("2", "999"):
        response = await platform.client.get("/v1/feed/changes", params={"since": since}, headers=PUBLIC)
        assert response.status_code == 404, response.text
        assert response.headers["content-type"].startswith("application/problem+json")
        assert response.json()["errors"][0]["field"] == "query.since"
    for since in ("0", "-1", "latest", "1.5"):
        response = await platform.client.get("/v1/feed/changes", params={"since": since}, headers=PUBLIC)
        assert response.status_code == 422, response.text
        assert response.json()["errors"][0]["field"] == "query.since"
    response = await platform.client.get("/v1/feed/changes", headers=PUBLIC)
    assert response.status_code == 422 and response.json()["errors"][0]["field"] == "query.since"


async def test_snapshot_forms_list_cache_and_event(platform: Platform) -> None:
    employer = await create_employer(platform)
    in_90_days = (beijing_date() + timedelta(days=90)).isoformat()
    jobs = [
        await post_job(platform, employer["id"], occupation_code="6-25-04-07", valid_until=in_90_days),
        await post_job(
            platform,
            employer["id"],
            title="钢筋工",
            industry="construction",
            city_code="3202",
            occupation_code="6-29-01-04",
            benefits={"dormitory": False, "meals": True},
        ),
    ]
    await synced(platform, *jobs)
    forbidden = await platform.client.post("/v1/feed/snapshots", headers=auth("partner", provinces=["61"]))
    assert forbidden.status_code == 403
    bus = await nats.connect(platform.settings.nats_url)
    announced: asyncio.Queue[dict[str, Any]] = asyncio.Queue()

    async def on_message(message: Any) -> None:
        await announced.put(json.loads(message.data))

    await bus.subscribe(SNAPSHOT_PUBLISHED, cb=on_message)
    try:
        first = await publish(platform)
        second = await publish(platform)
        # the relay publishes a batch concurrently: the two may arrive in either order
        events = [await asyncio.wait_for(announced.get(), timeout=10) for _ in range(2)]
        event = next(item for item in events if item["data"]["version"] == first["version"])
        assert event["type"] == SNAPSHOT_PUBLISHED and event["source"] == "/eastwest/feed"
        assert event["subject"] == str(first["version"])
        assert event["data"] == {
            "version": first["version"],
            "feed_version": first["feed_version"],
            "jobs": 2,
            "created_at": event["data"]["created_at"],
        }
        assert datetime.fromisoformat(event["data"]["created_at"]) == datetime.fromisoformat(
            first["created_at"]
        )
    finally:
        await bus.close()

    # the list: newest first, one page at a time
    listed: list[int] = []
    cursor: str | None = None
    while True:
        params = {"limit": "1", **({"cursor": cursor} if cursor else {})}
        page = (await platform.client.get("/v1/feed/snapshots", params=params, headers=PUBLIC)).json()
        listed.extend(item["version"] for item in page["items"])
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert listed == [second["version"], first["version"]]

    # JSON: the jobs, immutable caching
    url = f"/v1/feed/snapshots/{first['version']}"
    response = await platform.client.get(url, headers=PUBLIC)
    assert response.status_code == 200 and response.headers["content-type"].startswith("application/json")
    document = response.json()
    assert document["version"] == first["version"] and document["jobs"] == 2
    assert {item["id"] for item in document["items"]} == {job["id"] for job in jobs}
    etag = response.headers["etag"]
    assert re.fullmatch(r'"[0-9a-f]{32}"', etag)  # strong
    assert (
        "immutable" in response.headers["cache-control"]
        and "max-age=31536000" in response.headers["cache-control"]
    )
    cached = await platform.client.get(url, headers={**PUBLIC, "If-None-Match": etag})
    assert cached.status_code == 304 and cached.headers["etag"] == etag
    other_form = await platform.client.get(
        url, params={"format": "jsonld"}, headers={**PUBLIC, "If-None-Match": etag}
    )
    assert other_form.status_code == 200 and other_form.headers["etag"] != etag

    # JSON-LD
    assert other_form.headers["content-type"].startswith("application/ld+json")
    check_item_list(other_form.json(), expected_items=2)
    postings = {
        element["item"]["identifier"]["value"]: element["item"]
        for element in other_form.json()["itemListElement"]
    }
    assembler = postings[jobs[0]["id"]]
    assert assembler["jobLocation"]["address"]["addressLocality"] == "苏州市"
    assert assembler["occupationalCategory"]["codeValue"] == "6-25-04-07"
    assert assembler["baseSalary"]["value"]["minValue"] == 5200
    assert assembler["jobBenefits"] == "包住、包吃、五险"
    assert assembler["validThrough"] == f"{in_90_days}T23:59:59+08:00"
    assert postings[jobs[1]["id"]]["jobLocation"]["address"]["addressLocality"] == "无锡市"

    # xlsx: the 岗位供给清单, read back with the platform's own reader
    sheet = await platform.client.get(url, params={"format": "xlsx"}, headers=PUBLIC)
    assert sheet.status_code == 200, sheet.text
    assert (
        sheet.headers["content-type"] == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    )
    assert "filename*=UTF-8''" in sheet.headers["content-disposition"]
    rows = read_table(sheet.content, "snapshot.xlsx", required_headers=["岗位编号", "岗位名称", "工作城市"])
    by_id = {row.values["岗位编号"]: row.values for row in rows}
    assert set(by_id) == {job["id"] for job in jobs}
    rebar = by_id[jobs[1]["id"]]
    assert rebar["岗位名称"] == "钢筋工" and rebar["工作城市"] == "无锡市" and rebar["工种"] == "钢筋工"
    assert rebar["工种代码"] == "6-29-01-04" and rebar["月薪上限"] == "7200" and rebar["包住"] == "否"
    # no closing date given: shown until its publication day (Beijing) plus the 90-day posting lifetime
    published = datetime.fromisoformat(jobs[1]["published_at"]).astimezone(BEIJING).date()
    last_day = (published + timedelta(days=90)).isoformat()
    assert rebar["包吃"] == "是" and rebar["有效期至"] == last_day and rebar["年龄要求"] == "18-45"
    assert postings[jobs[1]["id"]]["validThrough"] == f"{last_day}T23:59:59+08:00"

    for bad, status, field in (
        ("/v1/feed/snapshots/99", 404, None),
        ("/v1/feed/snapshots/0", 422, "path.version"),
    ):
        response = await platform.client.get(bad, headers=PUBLIC)
        assert response.status_code == status, response.text
        if field:
            assert response.json()["errors"][0]["field"] == field
    response = await platform.client.get(url, params={"format": "pdf"}, headers=PUBLIC)
    assert response.status_code == 422 and response.json()["errors"][0]["field"] == "query.format"


async def test_schedule_publishes_and_skips_unchanged_slots(platform: Platform) -> None:
    employer = await create_employer(platform)
    job = await post_job(platform, employer["id"])
    await synced(platform, job)
    fast = FeedSettings(snapshot_every_seconds=0.5, snapshot_daily_at=None)
    platform.start_task("feed", "fast-schedule", run_schedule(platform.runtime("feed").sessions, fast))

    async def scheduled() -> list[Snapshot]:
        async with platform.runtime("feed").sessions() as session:
            return list((await session.scalars(select(Snapshot).order_by(Snapshot.version))).all())

    async def one() -> bool:
        return len(await scheduled()) >= 1

    await eventually(one, timeout=10, what="a scheduled snapshot")
    await asyncio.sleep(1.6)  # three more slots pass with nothing changed
    snapshots = await scheduled()
    assert len(snapshots) == 1 and snapshots[0].trigger == "schedule" and snapshots[0].slot is not None
    job = await close_job(platform, job["id"])
    await synced(platform, job)

    async def two() -> bool:
        return len(await scheduled()) == 2

    await eventually(two, timeout=10, what="the next slot after a change")
    await platform.stop_task("fast-schedule")
    latest = (await scheduled())[-1]
    assert latest.jobs == 0 and latest.version == 2


async def test_snapshots_beyond_the_retention_are_gone(platform: Platform) -> None:
    app = platform.gateway.services["feed"]
    app.state.feed_settings = replace(app.state.feed_settings, snapshot_keep=2)
    versions = [(await publish(platform))["version"] for _ in range(3)]
    assert versions == [1, 2, 3]
    gone = await platform.client.get("/v1/feed/snapshots/1", headers=PUBLIC)
    assert gone.status_code == 410, gone.text
    assert gone.headers["content-type"].startswith("application/problem+json")
    response = await platform.client.get("/v1/feed/changes", params={"since": 1}, headers=PUBLIC)
    assert response.status_code == 410 and response.json()["errors"][0]["field"] == "query.since"
    assert (await platform.client.get("/v1/feed/snapshots/2", headers=PUBLIC)).status_code == 200
    assert summary(await changes(platform, 2)) == (set(), set(), set())
    listed = (await platform.client.get("/v1/feed/snapshots", headers=PUBLIC)).json()["items"]
    assert [(item["version"], item["pruned_at"] is not None) for item in listed] == [
        (3, False),
        (2, False),
        (1, True),
    ]


# --- JSON-LD validation against the schema.org properties used ----------------------------------------------


def _text(value: Any) -> bool:
    return isinstance(value, str) and value.strip() != ""


def _datetime(value: Any) -> bool:
    if not isinstance(value, str):
        return False
    with contextlib.suppress(ValueError):
        return datetime.fromisoformat(value).tzinfo is not None
    return False


def _integer(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _typed(
    kind: str, properties: dict[str, Callable[[Any], bool]], required: set[str]
) -> Callable[[Any], bool]:
    def check(value: Any) -> bool:
        assert isinstance(value, dict) and value.get("@type") == kind, (kind, value)
        unknown = set(value) - {"@type"} - set(properties)
        assert not unknown, (kind, unknown)
        assert required <= set(value), (kind, required - set(value))
        for name, inner in value.items():
            if name != "@type":
                assert properties[name](inner), (kind, name, inner)
        return True

    return check


POSTAL_ADDRESS = _typed(
    "PostalAddress",
    {
        "addressRegion": lambda v: v == "江苏省",
        "addressLocality": _text,
        "addressCountry": lambda v: v == "CN",
    },
    {"addressRegion", "addressLocality", "addressCountry"},
)
QUANTITATIVE_VALUE = _typed(
    "QuantitativeValue",
    {"minValue": _integer, "maxValue": _integer, "unitText": lambda v: v == "MONTH"},
    {"minValue", "maxValue", "unitText"},
)
JOB_POSTING = _typed(
    "JobPosting",
    {
        "identifier": _typed("PropertyValue", {"propertyID": _text, "value": _text}, {"propertyID", "value"}),
        "title": _text,
        "description": _text,
        "datePosted": _datetime,
        "validThrough": _datetime,
        "employmentType": lambda v: v in {"FULL_TIME", "PART_TIME", "CONTRACTOR", "TEMPORARY", "INTERN"},
        "hiringOrganization": _typed("Organization", {"name": _text}, {"name"}),
        "jobLocation": _typed("Place", {"address": POSTAL_ADDRESS}, {"address"}),
        "baseSalary": _typed(
            "MonetaryAmount",
            {"currency": lambda v: v == "CNY", "value": QUANTITATIVE_VALUE},
            {"currency", "value"},
        ),
        "occupationalCategory": _typed(
            "CategoryCode",
            {
                "codeValue": lambda v: bool(re.fullmatch(r"\d-\d{2}-\d{2}-\d{2}", v)),
                "inCodeSet": _text,
                "name": _text,
            },
            {"codeValue", "inCodeSet"},
        ),
        "totalJobOpenings": _integer,
        "industry": _text,
        "jobBenefits": _text,
        "workHours": _text,
    },
    {
        "identifier",
        "title",
        "description",
        "datePosted",
        "validThrough",
        "employmentType",
        "hiringOrganization",
        "jobLocation",
        "baseSalary",
        "totalJobOpenings",
    },
)


def check_item_list(document: dict[str, Any], expected_items: int) -> None:
    assert document["@context"] == "https://schema.org" and document["@type"] == "ItemList"
    assert _text(document["name"]) and _datetime(document["dateCreated"])
    assert document["numberOfItems"] == expected_items == len(document["itemListElement"])
    for position, element in enumerate(document["itemListElement"], start=1):
        assert element["@type"] == "ListItem" and element["position"] == position
        assert JOB_POSTING(element["item"])
        salary = element["item"]["baseSalary"]["value"]
        assert salary["minValue"] <= salary["maxValue"]


# --- province editions --------------------------------------------------------------------------------------


async def edition(platform: Platform, province_code: str, **params: str) -> tuple[list[tuple[str, int]], Any]:
    response = await platform.client.get(
        "/v1/feed", params={"province_code": province_code, **params}, headers=PUBLIC
    )
    assert response.status_code == 200, response.text
    return [(item["id"], item["fitting_workers"]) for item in response.json()["items"]], response


async def test_province_editions_order_by_fit_and_count_workers(platform: Platform) -> None:
    shaanxi = await new_station(platform, "61")
    guizhou = await new_station(platform, "52")
    employer = await create_employer(platform)
    assembler = await post_job(  # Suzhou, 电子设备装接工, up to 7200, dormitory
        platform, employer["id"], occupation_code="6-25-04-07", salary_max=7200
    )
    concrete = await post_job(  # Wuxi, 混凝土工 (小类 6-29-01), up to 9000, no dormitory
        platform,
        employer["id"],
        title="混凝土工",
        industry="construction",
        city_code="3202",
        occupation_code="6-29-01-03",
        salary_max=9000,
        benefits={"dormitory": False},
    )
    cleaner = await post_job(  # Suzhou, no occupation code, up to 5000, no dormitory
        platform,
        employer["id"],
        title="保洁",
        industry=None,
        salary_min=4000,
        salary_max=5000,
        benefits={"dormitory": False},
    )
    await synced(platform, assembler, concrete, cleaner)

    def intention(**fields: Any) -> dict[str, Any]:
        return {
            "city_codes": [],
            "occupation_codes": [],
            "min_salary": None,
            "needs_dormitory": False,
            **fields,
        }

    # Shaanxi: fits the assembler job only
    await register(
        platform,
        shaanxi,
        101,
        intention=intention(
            city_codes=["3205"], occupation_codes=["6-25-04-07"], min_salary=4500, needs_dormitory=True
        ),
    )
    # Shaanxi: anywhere, anything, but at least 8000: the concrete job only
    await register(platform, shaanxi, 102, intention=intention(min_salary=8000))
    # Shaanxi: 钢筋工 in Wuxi: the concrete job (same 小类 6-29-01)
    rebar = await register(
        platform, shaanxi, 103, intention=intention(city_codes=["3202"], occupation_codes=["6-29-01-04"])
    )
    # Shaanxi: would fit everything but is employed
    employed = await register(platform, shaanxi, 104, intention=intention())
    status = await platform.client.post(
        f"/v1/persons/{employed['id']}/status",
        json={"status": "employed", "since": "2026-11-01"},
        headers=station_token(shaanxi),
    )
    assert status.status_code == 201, status.text
    # Guizhou: Suzhou, any occupation, at least 3000: the assembler and the cleaner
    await register(platform, guizhou, 201, intention=intention(city_codes=["3205"], min_salary=3000))

    expected_61 = [(concrete["id"], 2), (assembler["id"], 1), (cleaner["id"], 0)]

    async def counted() -> bool:
        return (await edition(platform, "61"))[0] == expected_61

    await eventually(counted, what="Shaanxi's edition counts its workers")
    expected_52 = [(cleaner["id"], 1), (assembler["id"], 1), (concrete["id"], 0)]

    async def counted_52() -> bool:
        # ties keep the feed's newest-first order: the cleaner was posted after the assembler
        return (await edition(platform, "52"))[0] == expected_52

    await eventually(counted_52, what="Guizhou's edition counts its worker")
    first_page, response = await edition(platform, "61", limit="2")
    page = response.json()
    assert first_page == expected_61[:2] and page["province_code"] == "61" and page["workers"] == 3
    second_page, _ = await edition(platform, "61", limit="2", cursor=page["next_cursor"])
    assert second_page == expected_61[2:]
    filtered, _ = await edition(platform, "61", city_code="3205")
    assert filtered == [(assembler["id"], 1), (cleaner["id"], 0)]

    # the plain feed is unchanged: newest first, no counts
    plain = (await platform.client.get("/v1/feed", headers=PUBLIC)).json()["items"]
    assert [item["id"] for item in plain] == [cleaner["id"], concrete["id"], assembler["id"]]
    assert all("fitting_workers" not in item for item in plain)

    # the ETag follows the province's workers: erasing one changes the counts and the tag
    etag = response.headers["etag"]
    cached = await platform.client.get(
        "/v1/feed", params={"province_code": "61", "limit": "2"}, headers={**PUBLIC, "If-None-Match": etag}
    )
    assert cached.status_code == 304
    erased = await platform.client.delete(f"/v1/persons/{rebar['id']}", headers=ADMIN)
    assert erased.status_code == 204, erased.text

    async def recounted() -> bool:
        return (await edition(platform, "61"))[0][0] == (concrete["id"], 1)

    await eventually(recounted, what="the erased worker leaves the counts")
    after = await platform.client.get(
        "/v1/feed", params={"province_code": "61", "limit": "2"}, headers={**PUBLIC, "If-None-Match": etag}
    )
    assert after.status_code == 200 and after.headers["etag"] != etag
    # a Guizhou change leaves Shaanxi's tag alone
    shaanxi_tag = after.headers["etag"]
    await register(platform, guizhou, 202, intention=intention())

    async def guizhou_counted() -> bool:
        return (await edition(platform, "52"))[0][0] == (cleaner["id"], 2)

    await eventually(guizhou_counted, what="the new Guizhou worker is counted")
    again = await platform.client.get(
        "/v1/feed",
        params={"province_code": "61", "limit": "2"},
        headers={**PUBLIC, "If-None-Match": shaanxi_tag},
    )
    assert again.status_code == 304

    for bad in ("99", "6", "610"):
        response = await platform.client.get("/v1/feed", params={"province_code": bad}, headers=PUBLIC)
        assert response.status_code == 422, response.text
        assert response.json()["errors"][0]["field"] == "query.province_code"
