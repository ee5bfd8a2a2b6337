"""Snapshots: numbered, immutable publications of every open job; the changes between two of them; their
schedule; and the forms partners read them in (JSON, schema.org JobPosting JSON-LD, the 岗位供给清单 .xlsx).

Content is stored as rows (`feed_snapshot_jobs`: one JSON payload per job) copied by one INSERT … SELECT
inside the database, so no job passes through Python while a snapshot is cut (bench/feed_latency.py
--snapshot-jobs compares that with building one compressed blob), and two snapshots are compared with
anti-joins on their primary key.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from itertools import pairwise
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from libs.db import BEIJING, beijing_date
from libs.events.contracts import SNAPSHOT_PUBLISHED, SnapshotPublished
from libs.events.envelope import new_event
from libs.events.outbox import add_event
from libs.reference.occupations import INDUSTRIES, occupation
from libs.reference.regions import JIANGSU_CITIES
from libs.spreadsheets import write_table
from services.feed import repository
from services.feed.models import Snapshot, platform
from services.feed.schemas import FeedItem, Removal
from services.feed.service import listed_until
from services.feed.settings import FeedSettings

SERVICE = "feed"
SCHEDULED = "schedule"
ON_REQUEST = "request"


async def publish_snapshot(
    session: AsyncSession, *, now: datetime, trigger: str, slot: str | None = None, keep: int = 0
) -> Snapshot | None:
    """Cut the next snapshot: every open job at the current feed version, and the event announcing it.

    A scheduled snapshot (`slot` set) is skipped, returning None, when that slot was already published (by
    another replica) or nothing changed since the latest one: same feed version, same day for closing dates.
    The content of snapshots older than the latest `keep` is dropped (0 keeps all). Call
    `repository.consistent_reads` first; a concurrent publisher taking the same number makes the flush
    fail with IntegrityError, and the caller retries in a new transaction."""
    today = beijing_date(now)
    latest = await repository.latest_snapshot(session)
    feed_version = await repository.current_version(session)
    if slot is not None:
        if await repository.snapshot_for_slot(session, slot) is not None:
            return None
        if latest is not None and latest.feed_version == feed_version and latest.valid_on == today:
            return None
    snapshot = Snapshot(
        version=(latest.version if latest else 0) + 1,
        feed_version=feed_version,
        jobs=0,
        valid_on=today,
        trigger=trigger,
        slot=slot,
        created_at=now,
    )
    session.add(snapshot)
    await session.flush()
    snapshot.jobs = await repository.copy_open_jobs(session, snapshot.version, today)
    if keep > 0 and snapshot.version > keep:
        await repository.prune_snapshots(session, below=snapshot.version - keep + 1, now=now)
    data = SnapshotPublished(
        version=snapshot.version, feed_version=feed_version, jobs=snapshot.jobs, created_at=now
    ).model_dump(mode="json")
    await add_event(
        session, platform.outbox, new_event(SERVICE, SNAPSHOT_PUBLISHED, str(snapshot.version), data)
    )
    await session.flush()
    return snapshot


# --- changes ------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Changes:
    since: Snapshot
    until: Snapshot
    added: list[FeedItem]
    changed: list[FeedItem]
    removed: list[Removal]
    last_job_id: str | None = None  # set when there is more after this page


async def changes_between(
    session: AsyncSession, since: Snapshot, until: Snapshot, page: repository.JobRange = repository.JobRange()
) -> Changes:
    """What a reader holding `since` must do to hold `until`: add, replace, drop (tombstones); one page of it
    in job-id order when `page` has a limit (every job is in at most one of the three lists, so the page is
    the first `limit` job ids of all three together).

    Compared by content, not by replaying the change log, so a job that came and went in between shows
    nowhere, a job added and then changed shows once as added (with its latest content), and a job that
    left because its closing date passed is a tombstone too (its time is `until`'s cut, having no closing
    change to date it)."""
    if since.version == until.version:
        return Changes(since, until, [], [], [])
    probe = repository.JobRange(page.after, page.limit + 1 if page.limit is not None else None)
    added = await repository.snapshot_added(session, since.version, until.version, probe)
    changed = await repository.snapshot_changed(session, since.version, until.version, probe)
    removed = await repository.snapshot_removed(session, since, until, probe)
    ids = sorted(
        [row.job_id for row in added] + [row.job_id for row in changed] + [id_ for id_, _ in removed]
    )
    more = page.limit is not None and len(ids) > page.limit
    last = ids[page.limit - 1] if more and page.limit is not None else None

    def kept(job_id: str) -> bool:
        return last is None or job_id <= last

    return Changes(
        since=since,
        until=until,
        added=[FeedItem.model_validate(row.payload) for row in added if kept(row.job_id)],
        changed=[FeedItem.model_validate(row.payload) for row in changed if kept(row.job_id)],
        removed=[
            Removal(id=job_id, removed_at=at or until.created_at) for job_id, at in removed if kept(job_id)
        ],
        last_job_id=last,
    )


# --- changes since a feed version ---------------------------------------------------------------------------

# PostgreSQL hands out change numbers before commit: a hole in the newest numbers may be a transaction still
# committing. A walk does not reach past a hole this young (an older one is a rolled-back number that never
# fills), so a version it hands out never has a change below it that shows up later.
SETTLE_SECONDS = 2.0
SETTLE_WINDOW = 500


@dataclass(frozen=True)
class LogChanges:
    """One page of what changed in the feed between two feed versions, read from the change log."""

    added: list[FeedItem]
    changed: list[FeedItem]
    removed: list[Removal]
    last_job_id: str | None = None  # set when there is more after this page


def settled_version(recent: Sequence[tuple[int, datetime]], now: datetime) -> int:
    """The highest version below which no change can still appear (`recent`: the newest changes, newest
    first); 0 for an empty log."""
    ordered = sorted(recent)
    if not ordered:
        return 0
    for (lower, _), (higher, created_at) in pairwise(ordered):
        if higher != lower + 1 and (now - created_at).total_seconds() < SETTLE_SECONDS:
            return lower
    return ordered[-1][0]


async def changes_since_version(
    session: AsyncSession, since: int, until: int, page: repository.JobRange
) -> LogChanges:
    """What a reader who holds the feed at version `since` must do to hold it at `until`: each job changed
    in between compared as the feed stood at both versions, its last change up to each of them. Listed at
    both: changed; only at `until`: added; only at `since`: removed (its `job.closed` change is the tombstone,
    with its time); at neither (came and went): nothing. Pages in job-id order, `page.limit` jobs each."""
    probe = repository.JobRange(page.after, page.limit + 1 if page.limit is not None else None)
    ids = await repository.touched_jobs(session, since, until, probe)
    more = page.limit is not None and len(ids) > page.limit
    ids = ids[: page.limit] if page.limit is not None else ids
    before = await repository.last_changes(session, ids, since)
    after = await repository.last_changes(session, ids, until)
    added: list[FeedItem] = []
    changed: list[FeedItem] = []
    removed: list[Removal] = []
    for job_id in ids:
        then, now = before.get(job_id), after[job_id]
        listed_then = then is not None and then.kind != repository.CLOSED_KIND
        if now.kind != repository.CLOSED_KIND:
            (changed if listed_then else added).append(FeedItem.model_validate(now.payload))
        elif listed_then:
            removed.append(Removal.model_validate(now.payload))
    return LogChanges(added, changed, removed, ids[-1] if more and ids else None)


# --- schedule -----------------------------------------------------------------------------------------------


def next_slot(now: datetime, settings: FeedSettings) -> datetime | None:
    """The next scheduled instant strictly after `now`: the earlier of the periodic slot (aligned to the
    epoch, so hourly is on the hour) and the daily one (Beijing time). When both fall on the same instant
    (08:00 is also on the hour) it is one slot, hence one snapshot."""
    candidates: list[datetime] = []
    if settings.snapshot_every_seconds > 0:
        every = settings.snapshot_every_seconds
        slots = math.floor(now.timestamp() / every) + 1
        candidates.append(datetime.fromtimestamp(slots * every, tz=now.tzinfo))
    if settings.snapshot_daily_at is not None:
        local = now.astimezone(BEIJING)
        daily = datetime.combine(local.date(), settings.snapshot_daily_at, tzinfo=BEIJING)
        if daily <= local:
            daily += timedelta(days=1)
        candidates.append(daily.astimezone(now.tzinfo))
    return min(candidates) if candidates else None


def slot_key(slot: datetime) -> str:
    return slot.astimezone(BEIJING).isoformat(timespec="seconds")


# --- JSON-LD ------------------------------------------------------------------------------------------------

OCCUPATION_CODE_SET = "中华人民共和国职业分类大典（2022年版）"
_BENEFIT_NAMES = (("dormitory", "包住"), ("meals", "包吃"), ("social_insurance", "五险"))


def city_name(code: str) -> str:
    return JIANGSU_CITIES.get(code, code)


def job_posting(item: FeedItem, lifetime_days: int) -> dict[str, Any]:
    """A feed item as a schema.org JobPosting (the properties Google's job search reads, plus a few more).

    `validThrough` is always there and true: the end of the last day the feed shows the job (its closing
    date, else its publication day plus the posting lifetime), after which the feed takes it out."""
    posted = item.published_at or item.updated_at
    posting: dict[str, Any] = {
        "@type": "JobPosting",
        "identifier": {"@type": "PropertyValue", "propertyID": "eastwest-job-id", "value": item.id},
        "title": item.title,
        "description": item.description or item.title,
        "datePosted": posted.isoformat(),
        "employmentType": "FULL_TIME",
        "hiringOrganization": {"@type": "Organization", "name": item.employer_name},
        "jobLocation": {
            "@type": "Place",
            "address": {
                "@type": "PostalAddress",
                "addressRegion": "江苏省",
                "addressLocality": city_name(item.city_code),
                "addressCountry": "CN",
            },
        },
        "baseSalary": {
            "@type": "MonetaryAmount",
            "currency": "CNY",
            "value": {
                "@type": "QuantitativeValue",
                "minValue": item.salary_min,
                "maxValue": item.salary_max,
                "unitText": "MONTH",
            },
        },
        "totalJobOpenings": item.headcount_left,
    }
    last_day = item.listed_until or listed_until(item, lifetime_days)
    end = datetime.combine(last_day, datetime.max.time().replace(microsecond=0), tzinfo=BEIJING)
    posting["validThrough"] = end.isoformat()
    if item.occupation_code:
        category: dict[str, Any] = {
            "@type": "CategoryCode",
            "codeValue": item.occupation_code,
            "inCodeSet": OCCUPATION_CODE_SET,
        }
        known = occupation(item.occupation_code)
        if known is not None:
            category["name"] = known.name
        posting["occupationalCategory"] = category
    if item.industry:
        posting["industry"] = INDUSTRIES.get(item.industry, item.industry)
    benefits = [name for field, name in _BENEFIT_NAMES if getattr(item.benefits, field)]
    if benefits:
        posting["jobBenefits"] = "、".join(benefits)
    if item.shift:
        posting["workHours"] = item.shift
    return posting


def item_list_head(snapshot: Snapshot) -> dict[str, Any]:
    return {
        "@context": "https://schema.org",
        "@type": "ItemList",
        "name": f"东西部劳务协作共享岗位信息 第 {snapshot.version} 期",
        "identifier": str(snapshot.version),
        "dateCreated": snapshot.created_at.isoformat(),
        "numberOfItems": snapshot.jobs,
        "itemListOrder": "https://schema.org/ItemListUnordered",
    }


def list_item(position: int, item: FeedItem, lifetime_days: int) -> dict[str, Any]:
    return {"@type": "ListItem", "position": position, "item": job_posting(item, lifetime_days)}


# --- 岗位供给清单 (.xlsx) -------------------------------------------------------------------------------------

SHEET_TITLE = "岗位供给清单"
SHEET_HEADERS: tuple[str, ...] = (
    "岗位编号",
    "用人单位",
    "岗位名称",
    "岗位描述",
    "工种",
    "工种代码",
    "行业",
    "工作城市",
    "招聘人数",
    "剩余名额",
    "月薪下限",
    "月薪上限",
    "年龄要求",
    "学历要求",
    "技能要求",
    "证书要求",
    "包住",
    "包吃",
    "五险",
    "班制",
    "合同期限（月）",
    "有效期至",
    "发布时间",
)
_TEXT_HEADERS = ("岗位编号", "工种代码", "年龄要求")


def _age_text(item: FeedItem) -> str:
    if item.age_min is not None and item.age_max is not None:
        return f"{item.age_min}-{item.age_max}"
    if item.age_max is not None:
        return f"{item.age_max}岁以下"
    if item.age_min is not None:
        return f"{item.age_min}岁以上"
    return "不限"


def sheet_row(item: FeedItem) -> list[object]:
    known = occupation(item.occupation_code) if item.occupation_code else None
    posted = item.published_at or item.updated_at
    return [
        item.id,
        item.employer_name,
        item.title,
        item.description or "",
        known.name if known else "",
        item.occupation_code or "",
        INDUSTRIES.get(item.industry, item.industry) if item.industry else "",
        city_name(item.city_code),
        item.headcount,
        item.headcount_left,
        item.salary_min,
        item.salary_max,
        _age_text(item),
        item.education_min or "不限",
        "、".join(item.skills),
        "、".join(item.certificates_required),
        item.benefits.dormitory,
        item.benefits.meals,
        item.benefits.social_insurance,
        item.shift or "",
        item.contract_months if item.contract_months is not None else "",
        item.valid_until or item.listed_until or "长期",
        posted.astimezone(BEIJING).strftime("%Y-%m-%d %H:%M"),
    ]


def snapshot_sheet(snapshot: Snapshot, items: Iterable[FeedItem]) -> bytes:
    """Newest posting first, as partner offices circulate it; a notes sheet says which edition it is."""
    ordered: Sequence[FeedItem] = sorted(
        items, key=lambda item: (item.published_at or item.updated_at, item.id), reverse=True
    )
    cut = snapshot.created_at.astimezone(BEIJING).strftime("%Y-%m-%d %H:%M")
    notes = [
        ("期号", f"第 {snapshot.version} 期（信息版本 {snapshot.feed_version}）"),
        ("发布时间", f"{cut}（北京时间）"),
        ("岗位数", f"{snapshot.jobs} 个在招岗位"),
        ("说明", "月薪为税前元/月；剩余名额为发布时尚未招满的人数；包住、包吃、五险为用人单位承诺的待遇。"),
    ]
    return write_table(
        list(SHEET_HEADERS),
        [sheet_row(item) for item in ordered],
        "xlsx",
        sheet_title=SHEET_TITLE,
        notes=notes,
        text_headers=_TEXT_HEADERS,
    )
