"""Live-stream sign-ups (直播招聘) and the leads they leave on a station's call-back list.

The board behind a live-stream host (feed's `GET /live`) posts name, phone, home station and the job on screen
straight to demand, the one service that holds personal data; feed never sees any of it.

Decisions:

- **Who is a registered worker.** A sign-up matches a worker when the keyed phone hash matches *and* the name
  does (NFKC, spaces ignored), searched across every station, not only the one picked on the form: viewers
  often pick a station near them rather than the one that registered them, and the application belongs to the
  worker's own station anyway. The name check is there because rural families often share one phone: a
  sign-up by one of them must not apply in another's name. A phone that matches but a name that does not
  becomes a lead, and the station sorts it out on the call.
- **What happens.** A match emits `ew.demand.livesignup.matched` (ids only) and matching creates the
  application, channel `livestream`, with the stream id. Anyone else becomes a `Lead` on the chosen station's
  list (`ew.demand.livesignup.lead`). When the same phone and name later register (`POST /v1/persons` or a
  roster import, seen through demand's own `person.registered` / `person.updated` events), the lead turns
  `registered`, drops its copy of the name and phone (the worker's record is the one copy, so erasing the
  worker erases it) and the same matched event follows, so the application is created then.
- **Once per sign-up.** The matched event's id is derived from (worker, job, stream): a second sign-up, or a
  lead converting for a worker who also signed up directly, is the same event, refused by the outbox's unique
  event id here and by every consumer's inbox. A second lead sign-up for the same job by the same phone keeps
  the first lead.
- **Consent.** The form has an unticked box with the purpose (`LIVE_SIGNUP_CONSENT`, the same words the page
  shows); a sign-up without it is a 422 on `body.consent` and stores nothing. Every sign-up that is kept records
  when the box was ticked and its wording, as a registration's consent does: on the lead, and for a registered
  worker on a `registered` lead that points at the worker (no copy of the name or phone), so the station sees
  the sign-up on its list as well.
- **One answer for everyone.** The route is public: telling a caller whether a name and phone belong to a
  registered worker would let anyone test it. Both cases answer 202 `{"status": "received"}` with the same
  message; what happened is on the station's list (`GET /v1/leads`) and in the application that follows.
- **Abuse.** The route is rate-limited per client address with an in-memory token bucket (`TokenBucket`: a
  burst of 20, then one every 2 s; per process, so N replicas allow N times as much; the bucket table is
  bounded). The client address is `libs.proxies.request_client`: `X-Forwarded-For` read from the right, believed
  only as far as it was written by `EW_TRUSTED_PROXIES` (the gateway), so a caller cannot pick a fresh bucket
  per request by sending the header itself. Bad input is a 422 naming the field, in Chinese, and stores nothing.
- **Who reads leads.** `GET /v1/leads` follows the worker scope (admin all, partner its provinces, station its
  own): full name, masked phone. The station that calls back reads the number itself through
  `GET /v1/leads/{id}/phone` (its own station only, logged without the number, `Cache-Control: no-store`).
"""

from __future__ import annotations

import math
import re
import time
import unicodedata
import uuid
from collections import OrderedDict
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Literal

from fastapi import Request
from pydantic import BaseModel, Field, field_validator
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from libs.api.app import ServiceRuntime
from libs.api.problems import FieldError, Problem, not_found
from libs.api.schemas import RequestModel, example
from libs.auth import Principal, Role
from libs.db import after_key, utcnow
from libs.events.consumer import EventConsumer, Handler
from libs.events.contracts import (
    JOB_CLOSED,
    JOB_EVENTS,
    LIVESIGNUP_LEAD,
    LIVESIGNUP_MATCHED,
    PERSON_EVENTS,
    PERSON_REGISTERED,
    PERSON_UPDATED,
    JobPayload,
    LiveSignupLead,
    LiveSignupMatched,
)
from libs.events.envelope import CloudEvent, new_event
from libs.events.outbox import add_event
from libs.events.projection import Projection
from libs.observability import get_logger
from libs.pii import PiiError, PiiVault, mask_phone, normalise_phone
from libs.proxies import request_client
from services.demand import repository
from services.demand.models import Lead, LiveJob, Person, platform
from services.demand.service import PHONE, SERVICE, in_scope, read_scope

log = get_logger("ew.demand.leads")

STREAM_ID_PATTERN = r"^[A-Za-z0-9._-]{1,64}$"
_STREAM_ID = re.compile(STREAM_ID_PATTERN)
_NAME_MARKS = frozenset("·•・.． ")
OPEN_LEAD = ("new", "contacted")
LeadStatus = Literal["new", "contacted", "registered"]
MATCHED_NAMESPACE = uuid.UUID("6f1d7c52-61a4-4c55-9d0e-2f3b8f7a0c11")

RECEIVED_MESSAGE = "报名已提交：劳务联络站工作人员会尽快与您联系，确认报名并帮您办理后续手续。"
# What the viewer agrees to by ticking the box; the page shows these words (tests/integration/test_live_board.py
# checks that it does) and every kept sign-up stores them with the time.
LIVE_SIGNUP_CONSENT = (
    "我同意将本人姓名和手机号提供给所选的劳务联络站，用于回电联系、办理务工登记，并向所选岗位的用人单位报名"
)
CONSENT_REQUIRED = "请阅读并勾选“同意授权”：联络站需要您的姓名和手机号才能联系您、为您报名"


# --- rate limit ---------------------------------------------------------------------------------------------


class TokenBucket:
    """Per-key token buckets in memory: `capacity` at once, refilled at `per_second`. The table keeps at most
    `max_keys` keys (the least recently seen go first), so a flood of addresses cannot grow it without bound."""

    def __init__(
        self,
        capacity: float = 20,
        per_second: float = 0.5,
        max_keys: int = 50_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.capacity = capacity
        self.per_second = per_second
        self.max_keys = max_keys
        self.clock = clock
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()

    def take(self, key: str) -> float:
        """0 when a token was taken; otherwise the seconds until one will be there."""
        now = self.clock()
        tokens, seen = self._buckets.pop(key, (self.capacity, now))
        tokens = min(self.capacity, tokens + (now - seen) * self.per_second)
        wait = 0.0
        if tokens >= 1:
            tokens -= 1
        else:
            wait = (1 - tokens) / self.per_second
        self._buckets[key] = (tokens, now)
        while len(self._buckets) > self.max_keys:
            self._buckets.popitem(last=False)
        return wait


LIMITER_STATE = "live_signup_limiter"


def signup_rate_limit(request: Request) -> None:
    """Dependency of the public sign-up route: runs before the body is read or validated."""
    limiter = getattr(request.app.state, LIMITER_STATE, None)
    if limiter is None:
        limiter = TokenBucket()
        setattr(request.app.state, LIMITER_STATE, limiter)
    wait = limiter.take(request_client(request, request.app.state.runtime.settings.proxies))
    if wait > 0:
        raise Problem(
            429,
            "报名提交过于频繁，请稍后再试",
            headers={"Retry-After": str(math.ceil(wait))},
            retry_after_seconds=math.ceil(wait),
        )


# --- contract -----------------------------------------------------------------------------------------------


def normalise_name(value: str) -> str:
    """The spelling names are compared in: NFKC, no spaces."""
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", value))


class LiveSignupIn(RequestModel):
    """The board's sign-up form; each refusal names its field with a message a viewer understands."""

    model_config = example(
        {
            "stream_id": "kuaishou-live-7",
            "job_id": "5a6b7c8d-9e0f-4a1b-8c2d-3e4f5a6b7c8d",
            "station_id": "7d3c2b1a-5e4f-4a6b-9c8d-1e2f3a4b5c6d",
            "name": "李娟",
            "phone": "13712345678",
            "consent": True,
        }
    )

    stream_id: str = Field(description="直播间编号（页面地址中的 stream_id）")
    job_id: str = Field(description="报名的岗位")
    station_id: str = Field(description="户籍所在地的劳务联络站")
    name: str = Field(description="姓名")
    phone: str = Field(description="11 位手机号")
    consent: bool = Field(description=f"已勾选个人信息授权（须为 true）：{LIVE_SIGNUP_CONSENT}")

    @field_validator("stream_id")
    @classmethod
    def _stream(cls, value: str) -> str:
        if not _STREAM_ID.match(value):
            raise ValueError("直播间编号无效：请从直播间提供的链接打开报名页面")
        return value

    @field_validator("job_id")
    @classmethod
    def _job(cls, value: str) -> str:
        if not value or len(value) > 36:
            raise ValueError("请选择要报名的岗位")
        return value

    @field_validator("station_id")
    @classmethod
    def _station(cls, value: str) -> str:
        if not value or len(value) > 36:
            raise ValueError("请选择户籍所在地的联络站")
        return value

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        name = unicodedata.normalize("NFKC", value).strip()
        if not 2 <= len(name) <= 30 or not all(c.isalpha() or c in _NAME_MARKS for c in name):
            raise ValueError("请填写真实姓名（2 至 30 个字，不含数字和符号）")
        return name

    @field_validator("phone")
    @classmethod
    def _phone(cls, value: str) -> str:
        try:
            return normalise_phone(value[:30])
        except PiiError as error:
            raise ValueError(f"{error}，请检查后重新填写") from error

    @field_validator("consent")
    @classmethod
    def _consent(cls, value: bool) -> bool:
        if value is not True:
            raise ValueError(CONSENT_REQUIRED)
        return value


class LiveSignupOut(BaseModel):
    """The same for a registered worker and for anyone else: the answer tells a caller nothing about who is
    registered."""

    model_config = example(
        {
            "status": "received",
            "message": RECEIVED_MESSAGE,
            "job_id": "5a6b7c8d-9e0f-4a1b-8c2d-3e4f5a6b7c8d",
            "stream_id": "kuaishou-live-7",
        }
    )

    status: Literal["received"] = "received"
    message: str = RECEIVED_MESSAGE
    job_id: str
    stream_id: str


class LeadOut(BaseModel):
    model_config = example(
        {
            "id": "a4b5c6d7-e8f9-4a0b-9c1d-2e3f4a5b6c7d",
            "station_id": "7d3c2b1a-5e4f-4a6b-9c8d-1e2f3a4b5c6d",
            "province_code": "61",
            "stream_id": "kuaishou-live-7",
            "job_id": "5a6b7c8d-9e0f-4a1b-8c2d-3e4f5a6b7c8d",
            "job_title": "电子产品装配工",
            "employer_name": "苏州精密电子有限公司",
            "city_code": "3205",
            "name": "李娟",
            "phone_masked": "137****5678",
            "status": "new",
            "person_id": None,
            "consent_given_at": "2026-11-20T20:15:00+08:00",
            "consent_scope": LIVE_SIGNUP_CONSENT,
            "created_at": "2026-11-20T20:15:00+08:00",
            "updated_at": "2026-11-20T20:15:00+08:00",
        }
    )

    id: str
    station_id: str
    province_code: str
    stream_id: str
    job_id: str
    job_title: str | None
    employer_name: str | None
    city_code: str | None
    name: str | None
    phone_masked: str | None
    status: str
    person_id: str | None
    consent_given_at: datetime | None = Field(description="报名时勾选授权的时间")
    consent_scope: str | None = Field(description="勾选时页面上的授权说明")
    created_at: datetime
    updated_at: datetime


class LeadPatch(RequestModel):
    model_config = example({"status": "contacted"})

    status: Literal["new", "contacted"] = Field(description="回访进度；registered 由登记自动设置")


class LeadPhone(BaseModel):
    model_config = example({"id": "a4b5c6d7-e8f9-4a0b-9c1d-2e3f4a5b6c7d", "phone": "13712345678"})

    id: str
    phone: str


# --- sign-up ------------------------------------------------------------------------------------------------


def _invalid(field: str, code: str, message: str) -> Problem:
    return Problem(422, message, errors=[FieldError(field, code, message)])


async def _registered_worker(
    session: AsyncSession, vault: PiiVault, phone_hash: str, name: str
) -> Person | None:
    rows = await session.scalars(
        select(Person)
        .where(Person.phone_hash == phone_hash, Person.erased_at.is_(None))
        .order_by(Person.created_at, Person.id)
    )
    wanted = normalise_name(name)
    for person in rows:
        if person.name_encrypted and normalise_name(vault.decrypt(person.name_encrypted, "name")) == wanted:
            return person
    return None


async def _emit_matched(
    session: AsyncSession, person: Person, job_id: str, stream_id: str, lead_id: str | None
) -> bool:
    """False when this worker's sign-up for this job on this stream was announced before."""
    payload = LiveSignupMatched(
        person_id=person.id,
        job_id=job_id,
        stream_id=stream_id,
        station_id=person.station_id,
        lead_id=lead_id,
        at=utcnow(),
    )
    event = new_event(SERVICE, LIVESIGNUP_MATCHED, person.id, payload.model_dump(mode="json"))
    event_id = uuid.uuid5(MATCHED_NAMESPACE, f"{person.id}|{job_id}|{stream_id}")
    try:
        async with session.begin_nested():
            await add_event(session, platform.outbox, event.model_copy(update={"id": str(event_id)}))
    except IntegrityError:
        return False
    return True


async def sign_up(session: AsyncSession, vault: PiiVault, data: LiveSignupIn) -> LiveSignupOut:
    """A registered worker's application follows (a `registered` lead records the sign-up and its consent);
    anyone else becomes a lead on the station's call-back list. The answer is the same either way."""
    station = await repository.get_station(session, data.station_id)
    if station is None or not station.active:
        raise _invalid("body.station_id", "not_found", "请选择列表中的联络站（该联络站不存在或已停用）")
    job = await session.get(LiveJob, data.job_id)
    if job is None or not job.open:
        raise _invalid("body.job_id", "not_open", "该岗位已结束招聘或不存在，请选择屏幕上正在招聘的岗位")
    if job.headcount_left <= 0:
        raise _invalid("body.job_id", "filled", "该岗位名额已满，请选择其他岗位")
    now = utcnow()
    answer = LiveSignupOut(job_id=job.id, stream_id=data.stream_id)
    phone_hash = vault.keyed_hash(data.phone, PHONE)
    worker = await _registered_worker(session, vault, phone_hash, data.name)
    if worker is not None:
        if await _emit_matched(session, worker, job.id, data.stream_id, None):
            # the sign-up and its consent, on the worker's own station's list; the worker's record is the one
            # copy of the name and phone
            session.add(
                Lead(
                    id=str(uuid.uuid4()),
                    station_id=worker.station_id,
                    province_code=worker.province_code,
                    stream_id=data.stream_id,
                    job_id=job.id,
                    status="registered",
                    person_id=worker.id,
                    consent_given_at=now,
                    consent_scope=LIVE_SIGNUP_CONSENT,
                    created_at=now,
                    updated_at=now,
                )
            )
            await session.flush()
        return answer
    existing = (
        await session.scalars(
            select(Lead).where(
                Lead.phone_hash == phone_hash, Lead.job_id == job.id, Lead.status.in_(OPEN_LEAD)
            )
        )
    ).first()
    if existing is None:
        lead = Lead(
            id=str(uuid.uuid4()),
            station_id=station.id,
            province_code=station.province_code,
            stream_id=data.stream_id,
            job_id=job.id,
            name_encrypted=vault.encrypt(data.name, "name"),
            phone_encrypted=vault.encrypt(data.phone, PHONE),
            phone_hash=phone_hash,
            phone_masked=mask_phone(data.phone),
            status="new",
            consent_given_at=now,
            consent_scope=LIVE_SIGNUP_CONSENT,
            created_at=now,
            updated_at=now,
        )
        session.add(lead)
        await session.flush()
        payload = LiveSignupLead(
            lead_id=lead.id,
            job_id=job.id,
            stream_id=lead.stream_id,
            station_id=station.id,
            province_code=station.province_code,
            at=now,
        )
        await add_event(
            session,
            platform.outbox,
            new_event(SERVICE, LIVESIGNUP_LEAD, lead.id, payload.model_dump(mode="json")),
        )
    return answer


# --- leads: the station's call-back list --------------------------------------------------------------------


async def list_leads(
    session: AsyncSession,
    caller: Principal,
    *,
    station_id: str | None,
    status: str | None,
    after: tuple[datetime, str] | None,
    limit: int,
) -> Sequence[Lead]:
    scope = read_scope(caller)
    query = select(Lead)
    if scope.station_ids is not None:
        query = query.where(Lead.station_id.in_(scope.station_ids))
    if scope.province_codes is not None:
        query = query.where(Lead.province_code.in_(scope.province_codes))
    if station_id:
        query = query.where(Lead.station_id == station_id)
    if status:
        query = query.where(Lead.status == status)
    query = query.where(after_key(Lead.created_at, Lead.id, after))
    return (await session.scalars(query.order_by(Lead.created_at, Lead.id).limit(limit))).all()


async def lead_views(session: AsyncSession, vault: PiiVault, leads: Sequence[Lead]) -> list[LeadOut]:
    """Full name and masked phone; a registered lead shows its worker's (it keeps no copy of its own)."""
    jobs = {
        job.id: job
        for job in await session.scalars(select(LiveJob).where(LiveJob.id.in_({x.job_id for x in leads})))
    }
    person_ids = {x.person_id for x in leads if x.person_id}
    persons = {
        person.id: person
        for person in await session.scalars(
            select(Person).where(Person.id.in_(person_ids), Person.erased_at.is_(None))
        )
    }
    views = []
    for lead in leads:
        job = jobs.get(lead.job_id)
        person = persons.get(lead.person_id) if lead.person_id else None
        name_token = lead.name_encrypted or (person.name_encrypted if person else None)
        views.append(
            LeadOut(
                id=lead.id,
                station_id=lead.station_id,
                province_code=lead.province_code,
                stream_id=lead.stream_id,
                job_id=lead.job_id,
                job_title=job.title if job else None,
                employer_name=job.employer_name if job else None,
                city_code=job.city_code if job else None,
                name=vault.decrypt(name_token, "name") if name_token else None,
                phone_masked=lead.phone_masked or (person.phone_masked if person else None),
                status=lead.status,
                person_id=lead.person_id,
                consent_given_at=lead.consent_given_at,
                consent_scope=lead.consent_scope,
                created_at=lead.created_at,
                updated_at=lead.updated_at,
            )
        )
    return views


async def lead_in_scope(session: AsyncSession, caller: Principal, lead_id: str) -> Lead:
    read_scope(caller)  # 403 for roles that never see personal data
    lead = await session.get(Lead, lead_id, with_for_update=True)
    if lead is None or not in_scope(caller, lead.station_id, lead.province_code):
        raise not_found("待联系人员")
    return lead


async def set_lead_status(session: AsyncSession, caller: Principal, lead_id: str, patch: LeadPatch) -> Lead:
    lead = await lead_in_scope(session, caller, lead_id)
    if lead.status == "registered":
        raise Problem(
            409,
            "该人员已完成登记，回访状态不能再修改",
            errors=[FieldError("body.status", "registered", "已登记")],
        )
    lead.status = patch.status
    lead.updated_at = utcnow()
    await session.flush()
    return lead


async def delete_lead(session: AsyncSession, caller: Principal, lead_id: str) -> None:
    """The person declined or asked to be forgotten: the lead and its personal data go."""
    lead = await lead_in_scope(session, caller, lead_id)
    await session.delete(lead)
    await session.flush()


async def reveal_phone(session: AsyncSession, vault: PiiVault, caller: Principal, lead_id: str) -> LeadPhone:
    """The number to call, for the lead's own station only; every reveal is logged (without the number)."""
    lead = await lead_in_scope(session, caller, lead_id)
    if caller.role is not Role.station:
        raise Problem(403, "只有负责回访的联络站可以查看完整手机号")
    if lead.phone_encrypted is None:  # registered: the worker's record holds the number now
        raise not_found("待联系人员的手机号")
    log.info("lead.phone_revealed", lead_id=lead.id, station_id=lead.station_id, caller=caller.sub)
    return LeadPhone(id=lead.id, phone=vault.decrypt(lead.phone_encrypted, PHONE))


# --- consumers: a lead registers; the jobs a sign-up may name -----------------------------------------------


async def convert_leads(session: AsyncSession, vault: PiiVault, person_id: str) -> int:
    """The worker's phone and name match open leads: each turns `registered`, and its application follows."""
    person = await repository.get_person(session, person_id)
    if person is None or person.phone_hash is None or person.name_encrypted is None:
        return 0
    leads = (
        await session.scalars(
            select(Lead)
            .where(Lead.phone_hash == person.phone_hash, Lead.status.in_(OPEN_LEAD))
            .order_by(Lead.created_at, Lead.id)
            .with_for_update()
        )
    ).all()
    name = normalise_name(vault.decrypt(person.name_encrypted, "name"))
    converted = 0
    for lead in leads:
        if lead.name_encrypted is None or normalise_name(vault.decrypt(lead.name_encrypted, "name")) != name:
            continue
        lead.status = "registered"
        lead.person_id = person.id
        lead.name_encrypted = lead.phone_encrypted = lead.phone_hash = lead.phone_masked = None
        lead.updated_at = utcnow()
        await session.flush()
        await _emit_matched(session, person, lead.job_id, lead.stream_id, lead.id)
        converted += 1
    return converted


# Which jobs a live-stream sign-up can still apply to.
LIVE_JOBS = Projection[JobPayload, LiveJob](
    LiveJob,
    lambda job: {
        "open": job.status == "published",
        "headcount_left": job.headcount_left,
        "title": job.title[:100],
        "employer_name": job.employer_name[:200],
        "city_code": job.city_code,
    },
)


async def apply_job(session: AsyncSession, event_type: str, job: JobPayload) -> None:
    await LIVE_JOBS.apply(
        session, job.model_copy(update={"status": "closed"}) if event_type == JOB_CLOSED else job
    )


def _person_handler(vault: PiiVault) -> Handler:
    async def on_person_event(session: AsyncSession, event: CloudEvent) -> None:
        if event.type in (PERSON_REGISTERED, PERSON_UPDATED) and event.subject:
            await convert_leads(session, vault, event.subject)

    return on_person_event


async def _on_job_event(session: AsyncSession, event: CloudEvent) -> None:
    await apply_job(session, event.type, JobPayload.model_validate(event.data))


def live_consumers(runtime: ServiceRuntime, vault: PiiVault) -> list[EventConsumer]:
    """Demand's own person events (a lead registering) and supply's job events (which jobs are open)."""
    handlers: dict[str, tuple[str, Handler]] = {
        "demand-live-persons": (PERSON_EVENTS, _person_handler(vault)),
        "demand-live-jobs": (JOB_EVENTS, _on_job_event),
    }
    return [runtime.consumer(name, subject, handler) for name, (subject, handler) in handlers.items()]
