"""Polling partners: what changed since the feed version they read (`/v1/feed/changes?since_version=`), and
jobs without a closing date shown for the posting lifetime, then taken out (JSON-LD `validThrough` true)."""

from __future__ import annotations

import itertools
from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import delete, select

from libs.db import BEIJING, utcnow
from services.feed import repository, service
from services.feed.models import FeedChange, FeedJob
from tests.harness import PUBLIC, Platform
from tests.integration.test_feed_publication import (
    check_item_list,
    close_job,
    no_schedule,  # noqa: F401  (snapshots only when a test publishes one)
    patch_job,
    post_job,
    publish,
    summary,
    synced,
)
from tests.integration.test_job_feed_flow import create_employer

pytestmark = pytest.mark.services("supply", "feed")

CHANGES = "/v1/feed/changes"


async def feed_version(platform: Platform) -> int:
    response = await platform.client.get("/v1/feed", headers=PUBLIC)
    assert response.status_code == 200, response.text
    return int(response.json()["version"])


async def since_version(platform: Platform, version: int, **params: Any) -> dict[str, Any]:
    response = await platform.client.get(CHANGES, params={"since_version": version, **params}, headers=PUBLIC)
    assert response.status_code == 200, response.text
    return dict(response.json())


async def test_changes_since_the_feed_version_a_partner_read(platform: Platform) -> None:
    employer = await create_employer(platform)
    kept = await post_job(platform, employer["id"], title="保安员", industry="security")
    to_change = await post_job(platform, employer["id"], title="仓库管理员", industry="logistics")
    to_close = await post_job(platform, employer["id"], title="快递分拣员", industry="logistics")
    await synced(platform, kept, to_change, to_close)
    read_at = await feed_version(platform)  # the partner reads GET /v1/feed here
    read_time = utcnow()

    added = await post_job(platform, employer["id"], title="电子产品装配工")
    changed = await patch_job(platform, to_change["id"], title="仓储管理员", salary_max=7800)
    closed = await close_job(platform, to_close["id"])
    fleeting = await post_job(platform, employer["id"], title="临时搬运工")  # comes and goes
    fleeting_closed = await close_job(platform, fleeting["id"])
    await synced(platform, added, changed, closed, fleeting_closed)
    now_at = await feed_version(platform)
    assert now_at == read_at + 5

    result = await since_version(platform, read_at)
    assert result["basis"] == "feed"
    assert (result["since"], result["version"], result["feed_version"]) == (read_at, now_at, now_at)
    assert summary(result) == ({added["id"]}, {to_change["id"]}, {to_close["id"]})
    assert len(result["added"]) == len(result["changed"]) == len(result["removed"]) == 1
    assert result["changed"][0]["title"] == "仓储管理员" and result["changed"][0]["salary_max"] == 7800
    assert result["added"][0]["title"] == "电子产品装配工" and result["next_cursor"] is None
    tombstone = result["removed"][0]
    assert set(tombstone) == {"id", "removed_at"}
    assert read_time < datetime.fromisoformat(tombstone["removed_at"]) <= utcnow()

    # the partner's next poll starts from `version`: nothing more, and the ETag holds
    again = await since_version(platform, result["version"])
    assert summary(again) == (set(), set(), set()) and again["version"] == now_at
    first = await platform.client.get(CHANGES, params={"since_version": read_at}, headers=PUBLIC)
    cached = await platform.client.get(
        CHANGES, params={"since_version": read_at}, headers={**PUBLIC, "If-None-Match": first.headers["etag"]}
    )
    assert cached.status_code == 304
    # from before the first job: everything open now is an addition
    everything = await since_version(platform, 0)
    assert summary(everything) == ({kept["id"], to_change["id"], added["id"]}, set(), set())
    # the snapshot basis is still there, and says so
    await publish(platform)
    assert (await platform.client.get(CHANGES, params={"since": 1}, headers=PUBLIC)).json()[
        "basis"
    ] == "snapshot"


async def test_changes_since_a_version_come_in_pages_pinned_to_the_first(platform: Platform) -> None:
    employer = await create_employer(platform)
    held = [await post_job(platform, employer["id"], title=f"岗位{i}") for i in range(4)]
    await synced(platform, *held)
    base = await feed_version(platform)
    touched = [await post_job(platform, employer["id"], title=f"新岗位{i}") for i in range(3)]
    touched += [await patch_job(platform, job["id"], salary_max=9000) for job in held[:2]]
    touched += [await close_job(platform, job["id"]) for job in held[2:]]
    await synced(platform, *touched)
    until = await feed_version(platform)
    whole = await since_version(platform, base)
    assert sum(map(len, summary(whole))) == 7 and whole["next_cursor"] is None

    pages: list[dict[str, Any]] = []
    params: dict[str, Any] = {"limit": 2}
    later: dict[str, Any] = {}
    while True:
        pages.append(await since_version(platform, base, **params))
        if len(pages) == 1:  # a job arrives mid-walk: not in this walk, in the next poll
            later = await post_job(platform, employer["id"], title="后来的岗位")
            await synced(platform, later)
        if pages[-1]["next_cursor"] is None:
            break
        params = {"limit": 2, "cursor": pages[-1]["next_cursor"]}
    assert [page["version"] for page in pages] == [until] * 4
    per_page = [
        sorted(item["id"] for kind in ("added", "changed", "removed") for item in page[kind])
        for page in pages
    ]
    assert [len(ids) for ids in per_page] == [2, 2, 2, 1]
    assert all(before[-1] < after[0] for before, after in itertools.pairwise(per_page))
    merged = tuple(set().union(*(summary(page)[k] for page in pages)) for k in range(3))
    assert merged == summary(whole)
    assert later["id"] not in {id_ for ids in per_page for id_ in ids}
    assert summary(await since_version(platform, until)) == ({later["id"]}, set(), set())

    # a cursor of the other basis, or tampered, is refused on `cursor`
    snapshot_cursor = "WzEsImFiYyJd"  # [1, "abc"]
    for cursor in ("garbage", snapshot_cursor):
        bad = await platform.client.get(
            CHANGES, params={"since_version": base, "cursor": cursor}, headers=PUBLIC
        )
        assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "query.cursor"


async def test_changes_since_a_version_refuses_the_future_and_the_forgotten(platform: Platform) -> None:
    employer = await create_employer(platform)
    jobs = [await post_job(platform, employer["id"], title=f"岗位{i}") for i in range(3)]
    await synced(platform, *jobs)
    head = await feed_version(platform)

    ahead = await platform.client.get(CHANGES, params={"since_version": head + 1}, headers=PUBLIC)
    assert ahead.status_code == 404 and ahead.headers["content-type"].startswith("application/problem+json")
    assert ahead.json()["errors"][0]["field"] == "query.since_version"
    assert ahead.json()["current_version"] == head
    for value in ("-1", "latest", "1.5"):
        bad = await platform.client.get(CHANGES, params={"since_version": value}, headers=PUBLIC)
        assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "query.since_version"
    both = await platform.client.get(CHANGES, params={"since": 1, "since_version": 1}, headers=PUBLIC)
    assert both.status_code == 422 and both.json()["errors"][0]["field"] == "query.since"

    # the change log no longer reaching back (as a retention would leave it): 410, saying from where it does
    async with platform.runtime("feed").sessions() as session:
        await session.execute(delete(FeedChange).where(FeedChange.seq <= 2))
        await session.commit()
    gone = await platform.client.get(CHANGES, params={"since_version": 1}, headers=PUBLIC)
    assert gone.status_code == 410, gone.text
    assert gone.json()["errors"][0]["field"] == "query.since_version"
    assert gone.json()["oldest_version"] == 2
    assert (await since_version(platform, 2))["version"] == head


# --- the posting lifetime -----------------------------------------------------------------------------------


async def test_a_job_without_closing_date_is_shown_for_the_lifetime_then_taken_out(
    platform: Platform,
) -> None:
    employer = await create_employer(platform)
    open_ended = await post_job(platform, employer["id"], title="保安员")  # no valid_until
    await synced(platform, open_ended)
    published = datetime.fromisoformat(open_ended["published_at"]).astimezone(BEIJING).date()
    last_day = published + timedelta(days=90)

    # every reader sees the last day: the feed item, and JSON-LD's validThrough at its end
    item = next(
        i
        for i in (await platform.client.get("/v1/feed", headers=PUBLIC)).json()["items"]
        if i["id"] == open_ended["id"]
    )
    assert item["valid_until"] is None and item["listed_until"] == last_day.isoformat()
    snapshot = await publish(platform)
    document = await platform.client.get(
        f"/v1/feed/snapshots/{snapshot['version']}", params={"format": "jsonld"}, headers=PUBLIC
    )
    check_item_list(document.json(), expected_items=1)
    posting = document.json()["itemListElement"][0]["item"]
    assert posting["validThrough"] == f"{last_day.isoformat()}T23:59:59+08:00"

    # shown through its last day, not a day later
    async with platform.runtime("feed").sessions() as session:
        on_last_day = await repository.listed_jobs(
            session, repository.FeedFilter(), today=last_day, before_seq=None, limit=10
        )
        day_after = await repository.listed_jobs(
            session, repository.FeedFilter(), today=last_day + timedelta(days=1), before_seq=None, limit=10
        )
    assert [row.job_id for row in on_last_day] == [open_ended["id"]] and list(day_after) == []

    # the day after its last day (Beijing), the feed's expiry takes it out as a job.closed change
    before = await feed_version(platform)
    first_moment_after = datetime.combine(last_day + timedelta(days=1), datetime.min.time(), tzinfo=BEIJING)
    async with platform.runtime("feed").sessions() as session:
        assert (
            await service.expire_jobs(session, now=first_moment_after - timedelta(seconds=1), limit=10) == []
        )
        expired = await service.expire_jobs(session, now=first_moment_after, limit=10)
        await session.commit()
    assert [change.job_id for change in expired] == [open_ended["id"]]
    assert await feed_version(platform) == before + 1
    listed = (await platform.client.get("/v1/feed", headers=PUBLIC)).json()["items"]
    assert open_ended["id"] not in [i["id"] for i in listed]
    assert summary(await since_version(platform, before)) == (set(), set(), {open_ended["id"]})
    async with platform.runtime("feed").sessions() as session:
        row = await session.scalar(select(FeedJob).where(FeedJob.job_id == open_ended["id"]))
        assert row is not None and row.listed is False
        # a second pass finds nothing more
        assert await service.expire_jobs(session, now=first_moment_after, limit=10) == []


async def test_a_closing_date_is_the_last_day_whatever_the_lifetime(platform: Platform) -> None:
    employer = await create_employer(platform)
    closing = (utcnow().astimezone(BEIJING).date() + timedelta(days=200)).isoformat()
    job = await post_job(platform, employer["id"], title="焊工", valid_until=closing)
    await synced(platform, job)
    item = next(
        i
        for i in (await platform.client.get("/v1/feed", headers=PUBLIC)).json()["items"]
        if i["id"] == job["id"]
    )
    assert item["listed_until"] == closing
    snapshot = await publish(platform)
    document = await platform.client.get(
        f"/v1/feed/snapshots/{snapshot['version']}", params={"format": "jsonld"}, headers=PUBLIC
    )
    assert document.json()["itemListElement"][0]["item"]["validThrough"] == f"{closing}T23:59:59+08:00"


async def test_a_page_is_rendered_once_per_feed_version(platform: Platform) -> None:
    """Repeats of a page are served from memory, byte for byte, until the feed's version moves."""
    employer = await create_employer(platform)
    job = await post_job(platform, employer["id"], title="注塑工")
    await synced(platform, job)
    pages = platform.gateway.services["feed"].state.feed_pages
    first = await platform.client.get("/v1/feed", params={"limit": 5}, headers=PUBLIC)
    hits = pages.hits
    again = await platform.client.get("/v1/feed", params={"limit": 5}, headers=PUBLIC)
    assert again.content == first.content and again.headers["etag"] == first.headers["etag"]
    assert pages.hits == hits + 1
    assert again.headers["content-type"] == "application/json" and again.json()["items"][0]["id"] == job["id"]
    changed = await patch_job(platform, job["id"], title="注塑机操作工")
    await synced(platform, changed)
    after = await platform.client.get("/v1/feed", params={"limit": 5}, headers=PUBLIC)
    assert after.headers["etag"] != first.headers["etag"]
    assert after.json()["items"][0]["title"] == "注塑机操作工"
