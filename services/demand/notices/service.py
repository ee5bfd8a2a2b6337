"""Service text messages: queued from what happens to a worker, sent when the rules allow, followed to the
phone's receipt; opt-outs honoured whether the person replied TD or told their station.

A notice is queued once per thing it tells (its `dedup_key`: the claim, the offer, the booking and departure),
so a redelivered event, or an eligibility restored after a withdrawal, sends nothing twice. The sender reads the
phone and decrypts it only to hand it to the provider. No transaction is open while a provider is called (a
slow provider must not hold demand's database): a batch is claimed in one transaction, sent, and its results
recorded in another. Sending is at least once: a send the provider took whose result could not be recorded
(the process stopped, the database away) goes again when its lease ends; the providers' reference (`out_id`,
`SessionContext`) is the notice's id."""

from __future__ import annotations

import asyncio
import time as time_module
import uuid
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

import structlog
from sqlalchemy import ColumnElement, and_, func, select, true, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from libs.aio import raise_if_cancelling
from libs.api.pagination import decode_cursor, encode_cursor
from libs.api.problems import not_found, validation_problem
from libs.auth import Principal, Role, require_role
from libs.db import BEIJING, beijing_date, utcnow
from libs.pii import PiiVault
from libs.settings import Settings
from services.demand.models import FollowUp, Person, Station
from services.demand.notices import rules
from services.demand.notices.models import Notice, SmsOptOut
from services.demand.notices.providers import Pending, SendError, SmsProvider, opt_out_reply
from services.demand.notices.templates import TEMPLATES, params_of
from services.demand.service import PHONE

log = structlog.get_logger("ew.demand.notices")

BATCH = 50
LEASE = timedelta(minutes=5)  # a claimed notice whose result was never recorded (a crash) goes again after it
RECEIPT_DAYS = 3  # how long a sent message is followed for its receipt
SENT = ("sent", "delivered", "undelivered")
STATUS_NAMES = {
    "queued": "待发送",
    "sent": "已发送",
    "delivered": "已送达",
    "undelivered": "未送达",
    "suppressed": "不发送",
    "failed": "发送失败",
}
REASON_NAMES = {
    "quiet_hours": "夜间免打扰（21:00-08:00），次日 8 点发送",
    "daily_cap": "今日条数已达上限，次日发送",
    "opted_out": "本人已退订",
    "no_phone": "没有手机号",
    "erased": "本人信息已删除",
}


async def enqueue(
    session: AsyncSession, *, person_id: str, kind: str, values: dict[str, str], dedup_key: str
) -> Notice | None:
    """Queue a notice for a worker demand knows (and has not erased); None if there is nobody to tell or it was
    queued before."""
    person = await session.get(Person, person_id)
    if person is None or person.name_encrypted is None:
        return None
    existing = await session.scalar(select(Notice.id).where(Notice.dedup_key == dedup_key))
    if existing is not None:
        return None
    now = utcnow()
    notice = Notice(
        id=str(uuid.uuid4()),
        person_id=person.id,
        station_id=person.station_id,
        kind=kind,
        params=params_of(kind, values),
        dedup_key=dedup_key,
        urgent=TEMPLATES[kind].urgent,
        status="queued",
        not_before=now,
        attempts=0,
        created_at=now,
    )
    session.add(notice)
    try:
        async with session.begin_nested():
            await session.flush()
    except IntegrityError:  # the same notice queued by a redelivery a moment ago
        return None
    return notice


# --- sending ---------------------------------------------------------------------------------------------------


def _day_start(now: datetime) -> datetime:
    return datetime.combine(now.astimezone(BEIJING).date(), time.min, BEIJING)


async def _opted_out(session: AsyncSession, phone_hash: str | None) -> bool:
    return phone_hash is not None and await session.get(SmsOptOut, phone_hash) is not None


async def _sent_today(session: AsyncSession, person_id: str, now: datetime) -> int:
    statement = select(func.count()).where(
        Notice.person_id == person_id, Notice.status.in_(SENT), Notice.sent_at >= _day_start(now)
    )
    return int(await session.scalar(statement) or 0)


@dataclass(frozen=True)
class Outgoing:
    """A notice claimed for sending: what the provider gets (the phone only in memory, only until sent)."""

    notice_id: str
    phone: str
    kind: str
    params: dict[str, str]


async def claim_due(
    session: AsyncSession, provider: SmsProvider, vault: PiiVault, settings: Settings, now: datetime
) -> tuple[int, list[Outgoing]]:
    """One batch of the notices whose time has come: the rules applied (held back, not sent), and the rest
    claimed for sending with a lease (`not_before` a few minutes on: if their result is never recorded, they
    go again). Returns how many were looked at and what to send."""
    statement = (
        select(Notice)
        .where(Notice.status == "queued", Notice.not_before <= now)
        .order_by(Notice.not_before)
        .limit(BATCH)
        .with_for_update(skip_locked=True)
    )
    notices = (await session.scalars(statement)).all()
    claimed: Counter[str] = Counter()
    outgoing = []
    for notice in notices:
        person = await session.get(Person, notice.person_id)
        if person is None or person.name_encrypted is None:
            notice.status, notice.reason = "suppressed", "erased"
            continue
        if person.phone_encrypted is None:
            notice.status, notice.reason = "suppressed", "no_phone"
            continue
        decision = rules.decide(
            now=now,
            urgent=notice.urgent,
            opted_out=await _opted_out(session, person.phone_hash),
            sent_today=await _sent_today(session, person.id, now) + claimed[person.id],
            daily_cap=settings.sms_daily_cap,
        )
        if decision.action == "suppress":
            notice.status, notice.reason = "suppressed", decision.reason
        elif decision.action == "defer":
            assert decision.until is not None
            notice.not_before, notice.reason = decision.until, decision.reason
        else:
            claimed[person.id] += 1
            notice.attempts += 1
            notice.provider = provider.name
            notice.not_before = now + LEASE
            phone = vault.decrypt(person.phone_encrypted, PHONE)
            outgoing.append(Outgoing(notice.id, phone, notice.kind, dict(notice.params)))
    return len(notices), outgoing


async def send_claimed(
    provider: SmsProvider, outgoing: Sequence[Outgoing]
) -> list[tuple[Outgoing, str | None, SendError | None]]:
    """The provider's calls, outside any transaction (a slow provider must not hold the database)."""
    results: list[tuple[Outgoing, str | None, SendError | None]] = []
    for item in outgoing:
        try:
            message_id = await asyncio.to_thread(
                provider.send, item.phone, item.kind, item.params, item.notice_id
            )
        except SendError as error:
            log.warning("sms.send_failed", notice=item.notice_id, provider=provider.name, retry=error.retry)
            results.append((item, None, error))
        else:
            results.append((item, message_id, None))
    return results


async def record_sent(
    session: AsyncSession,
    results: Sequence[tuple[Outgoing, str | None, SendError | None]],
    settings: Settings,
    now: datetime,
) -> None:
    for item, message_id, error in results:
        notice = await session.get(Notice, item.notice_id)
        if notice is None or notice.status != "queued":
            continue
        if error is None:
            notice.status, notice.reason = "sent", None
            notice.provider_message_id = message_id
            notice.sent_at = now
        elif error.retry and notice.attempts < settings.sms_max_attempts:
            notice.not_before = rules.retry_at(now, notice.attempts)
            notice.reason = str(error)[:200]
        else:
            notice.status, notice.reason = "failed", str(error)[:200]


async def deliver(
    sessions: async_sessionmaker[AsyncSession],
    provider: SmsProvider,
    vault: PiiVault,
    settings: Settings,
    now: datetime,
) -> int:
    """One batch from claim to result, each database step its own short transaction; how many were looked at."""
    async with sessions.begin() as session:
        looked_at, outgoing = await claim_due(session, provider, vault, settings, now)
    if outgoing:
        results = await send_claimed(provider, outgoing)
        async with sessions.begin() as session:
            await record_sent(session, results, settings, now)
    return looked_at


# --- receipts and replies --------------------------------------------------------------------------------------


async def record_receipts(
    sessions: async_sessionmaker[AsyncSession], provider: SmsProvider, vault: PiiVault, now: datetime
) -> int:
    """Receipts for what this provider sent in the last days; how many notices they settled. The provider is
    asked between two short transactions."""
    async with sessions.begin() as session:
        statement = select(Notice.provider_message_id, Notice.person_id, Notice.sent_at).where(
            Notice.status == "sent",
            Notice.provider == provider.name,
            Notice.sent_at >= now - timedelta(days=RECEIPT_DAYS),
        )
        rows = (await session.execute(statement)).all()
        pending = []
        for message_id, person_id, sent_at in rows:
            person = await session.get(Person, person_id)
            if message_id and person is not None and person.phone_encrypted and sent_at:
                phone = vault.decrypt(person.phone_encrypted, PHONE)
                pending.append(Pending(message_id, phone, sent_at.astimezone(BEIJING).date()))
    if not pending:
        return 0
    receipts = await asyncio.to_thread(provider.receipts, pending)
    settled = 0
    async with sessions.begin() as session:
        for receipt in receipts:
            found = select(Notice).where(
                Notice.provider == provider.name,
                Notice.provider_message_id == receipt.message_id,
                Notice.status == "sent",
            )
            notice = (await session.scalars(found)).first()
            if notice is None:
                continue
            notice.status = "delivered" if receipt.delivered else "undelivered"
            notice.delivered_at = (receipt.at or now) if receipt.delivered else None
            notice.reason = None if receipt.delivered else (receipt.error or "")[:200]
            settled += 1
    return settled


async def record_replies(
    sessions: async_sessionmaker[AsyncSession], provider: SmsProvider, vault: PiiVault
) -> int:
    """Replies that ask for no more messages become opt-outs; how many."""
    replies = await asyncio.to_thread(provider.replies)
    stops = [reply for reply in replies if opt_out_reply(reply.text)]
    if stops:
        async with sessions.begin() as session:
            for reply in stops:
                await opt_out(session, vault.keyed_hash(reply.phone, PHONE), "reply")
    return len(stops)


async def opt_out(session: AsyncSession, phone_hash: str, source: str) -> None:
    """No more messages to this phone: recorded once, and what is still queued for it is not sent."""
    if await session.get(SmsOptOut, phone_hash) is None:
        session.add(SmsOptOut(phone_hash=phone_hash, source=source, opted_out_at=utcnow()))
        await session.flush()
    people = select(Person.id).where(Person.phone_hash == phone_hash)
    await session.execute(
        update(Notice)
        .where(Notice.status == "queued", Notice.person_id.in_(people))
        .values(status="suppressed", reason="opted_out")
    )


RECEIPTS_EVERY_SECONDS = 60.0  # receipts and replies are asked for at most this often (providers rate-limit)
FOLLOW_UPS_EVERY_SECONDS = 3600.0  # visits coming due are looked for hourly
FOLLOW_UP_NOTICE_DAYS = 3  # a worker is told of a visit due within this many days


async def queue_follow_ups(sessions: async_sessionmaker[AsyncSession], today: date) -> int:
    """Tell each worker whose follow-up visit (回访) falls due in the next days to expect the station's call;
    once per visit. How many were queued."""
    async with sessions.begin() as session:
        statement = select(FollowUp).where(
            FollowUp.status == "due",
            FollowUp.due_on >= today,
            FollowUp.due_on <= today + timedelta(days=FOLLOW_UP_NOTICE_DAYS),
        )
        queued = 0
        for visit in (await session.scalars(statement)).all():
            notice = await enqueue(
                session,
                person_id=visit.person_id,
                kind="follow_up",
                values={"date": f"{visit.due_on.month}月{visit.due_on.day}日"},
                dedup_key=f"follow_up:{visit.id}",
            )
            queued += notice is not None
    return queued


async def run_notices(
    sessions: async_sessionmaker[AsyncSession], provider: SmsProvider, vault: PiiVault, settings: Settings
) -> None:
    """Every few seconds: send what is due (a batch per transaction); every minute, read receipts and replies."""
    asked = visits = float("-inf")
    while True:
        try:
            if time_module.monotonic() - visits >= FOLLOW_UPS_EVERY_SECONDS:
                visits = time_module.monotonic()
                await queue_follow_ups(sessions, beijing_date())
            while await deliver(sessions, provider, vault, settings, utcnow()) == BATCH:
                pass
            if time_module.monotonic() - asked >= min(
                RECEIPTS_EVERY_SECONDS, settings.sms_send_every_seconds * 12
            ):
                asked = time_module.monotonic()
                await record_receipts(sessions, provider, vault, utcnow())
                await record_replies(sessions, provider, vault)
        except asyncio.CancelledError:
            raise
        except Exception as error:  # the database or the provider away for a moment: again next round
            raise_if_cancelling(error)
            log.warning("sms.round_failed", error=f"{type(error).__name__}: {error}")
        await asyncio.sleep(settings.sms_send_every_seconds)


# --- what stations see -------------------------------------------------------------------------------------------


def visible(caller: Principal) -> ColumnElement[bool]:
    require_role(caller, Role.admin, Role.partner, Role.station)
    if caller.role is Role.station:
        return Notice.station_id == caller.station_id
    if caller.role is Role.partner:
        return Notice.station_id.in_(select(Station.id).where(Station.province_code.in_(caller.provinces)))
    return true()


async def list_notices(
    session: AsyncSession,
    caller: Principal,
    *,
    person_id: str | None,
    status: str | None,
    cursor: str | None,
    limit: int,
) -> tuple[Sequence[tuple[Notice, str | None]], str | None]:
    statement = (
        select(Notice, Person.phone_masked)
        .join(Person, Person.id == Notice.person_id)
        .where(
            visible(caller),
            Notice.person_id == person_id if person_id else true(),
            Notice.status == status if status else true(),
        )
    )
    key = decode_cursor(cursor, 2)
    if key is not None:
        try:
            moment = datetime.fromisoformat(str(key[0]))
        except ValueError as error:
            raise validation_problem("query.cursor", "cursor_invalid", "游标无效") from error
        statement = statement.where(
            (Notice.created_at < moment) | and_(Notice.created_at == moment, Notice.id < str(key[1]))
        )
    rows = (
        await session.execute(statement.order_by(Notice.created_at.desc(), Notice.id.desc()).limit(limit))
    ).all()
    found = [(row[0], row[1]) for row in rows]
    following = (
        encode_cursor(found[-1][0].created_at.isoformat(), found[-1][0].id) if len(found) == limit else None
    )
    return found, following


async def person_opt_out(session: AsyncSession, caller: Principal, person_id: str) -> None:
    """A station records that its worker asked for no more messages."""
    require_role(caller, Role.admin, Role.station)
    person = await session.get(Person, person_id)
    if person is None or (caller.role is Role.station and person.station_id != caller.station_id):
        raise not_found("务工人员")
    if person.phone_hash is None:
        raise validation_problem("body.person_id", "no_phone", "该务工人员没有登记手机号")
    await opt_out(session, person.phone_hash, "station")
