"""Live-stream sign-ups: a registered worker's application, anyone else a lead; the station's call-back list;
a lead that registers later."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from libs.api.problems import FieldError, Problem, not_found
from libs.auth import Principal, Role
from libs.db import after_key, utcnow
from libs.events.contracts import (
    LIVESIGNUP_LEAD,
    LIVESIGNUP_MATCHED,
    LiveSignupLead,
    LiveSignupMatched,
)
from libs.events.envelope import new_event
from libs.events.outbox import add_event
from libs.observability import get_logger
from libs.pii import PiiVault, mask_phone
from services.demand import repository
from services.demand.leads.schemas import (
    LIVE_SIGNUP_CONSENT,
    LeadOut,
    LeadPatch,
    LeadPhone,
    LiveSignupIn,
    LiveSignupOut,
    normalise_name,
)
from services.demand.models import Lead, LiveJob, Person, platform
from services.demand.service import PHONE, SERVICE, in_scope, read_scope

log = get_logger("ew.demand.leads")
OPEN_LEAD = ("new", "contacted")
MATCHED_NAMESPACE = uuid.UUID("6f1d7c52-61a4-4c55-9d0e-2f3b8f7a0c11")


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
    query = query.where(scope.of(Lead, station_id))
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


# --- a lead registers ---------------------------------------------------------------------------------------


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
