"""Demand's domain operations: registration, profile and status changes, early warnings, erasure.

Scope: an admin sees every worker, a partner the workers of its provinces' stations, a station its own; any
other worker answers 404 (lists leave them out). Personal data is encrypted before it reaches a row and never
goes into an event: events carry the random person id and what matching needs.
"""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from libs.api.problems import FieldError, Problem, not_found
from libs.auth import Principal, Role
from libs.db import beijing_date, utcnow
from libs.events.contracts import (
    PERSON_ERASED,
    PERSON_REGISTERED,
    PERSON_STATUS_CHANGED,
    PERSON_UPDATED,
    WARNING_RAISED,
    WARNING_RESOLVED,
    Employment,
    Intention,
    PersonErased,
    PersonPayload,
    StationPayload,
    WarningPayload,
    WarningResolved,
    WorkSpell,
)
from libs.events.envelope import new_event
from libs.events.outbox import add_event
from libs.events.projection import Projection
from libs.pii import PiiVault, mask_id_number, mask_phone, parse_resident_id
from services.demand import repository
from services.demand.models import (
    EarlyWarning,
    FollowUp,
    Person,
    Station,
    StatusChange,
    employment_of,
    platform,
)
from services.demand.schemas import ConsentOut, PersonCreate, PersonPatch, StatusChangeIn, WorkSpellIn
from services.demand.schemas import Person as PersonView

SERVICE = "demand"
ID_NUMBER = "id_number"
PHONE = "phone"


# --- scope --------------------------------------------------------------------------------------------------


def read_scope(caller: Principal) -> repository.Scope:
    if caller.is_admin:
        return repository.Scope()
    if caller.role is Role.partner:
        return repository.Scope(province_codes=list(caller.provinces))
    if caller.role is Role.station and caller.station_id:
        return repository.Scope(station_ids=[caller.station_id])
    raise Problem(403, f"角色 {caller.role} 无权查看务工人员信息")


def in_scope(caller: Principal, station_id: str, province_code: str) -> bool:
    if caller.is_admin:
        return True
    if caller.role is Role.partner:
        return province_code in caller.provinces
    return caller.role is Role.station and caller.station_id == station_id


async def station_for_write(session: AsyncSession, caller: Principal, station_id: str, field: str) -> Station:
    station = await repository.get_station(session, station_id)
    if station is None or not in_scope(caller, station.id, station.province_code):
        problem = not_found("联络站")
        problem.errors = [FieldError(field, "not_found", "联络站不存在或不在您的权限范围内")]
        raise problem
    if not station.active:
        raise Problem(
            409,
            "该联络站已停用，不能登记新的务工人员",
            errors=[FieldError(field, "inactive", "联络站已停用")],
        )
    return station


async def person_in_scope(
    session: AsyncSession, caller: Principal, person_id: str, *, for_update: bool = False
) -> Person:
    person = await repository.get_person(session, person_id, for_update=for_update)
    if person is None or not in_scope(caller, person.station_id, person.province_code):
        raise not_found("务工人员")
    return person


# --- views and events ---------------------------------------------------------------------------------------


def age_of(person: Person, today: date) -> int:
    if person.birth_date is None:
        return today.year - person.birth_year
    years = today.year - person.birth_date.year
    return years - ((today.month, today.day) < (person.birth_date.month, person.birth_date.day))


def person_view(vault: PiiVault, person: Person) -> PersonView:
    """Masked ID number and phone; the name in full for whoever may see the worker at all."""
    return PersonView(
        **{**dict(person_payload(person)), "work_history": list(person.work_history or [])},
        name=vault.decrypt(person.name_encrypted, "name") if person.name_encrypted else None,
        id_number_masked=person.id_number_masked,
        phone_masked=person.phone_masked,
        birth_date=person.birth_date,
        consent=ConsentOut(given_at=person.consent_given_at, scope=person.consent_scope),
        demand_list_id=person.demand_list_id,
        created_at=person.created_at,
        erased=person.erased_at is not None,
    )


def _work_history(spells: list[WorkSpellIn] | None) -> list[dict[str, Any]]:
    return [spell.model_dump(mode="json") for spell in spells or []]


def person_payload(person: Person) -> PersonPayload:
    return PersonPayload(
        id=person.id,
        version=person.version,
        station_id=person.station_id,
        province_code=person.province_code,
        gender=person.gender,
        age=age_of(person, beijing_date()),
        education=person.education,
        categories=list(person.categories),
        key_region=person.key_region,
        skills=list(person.skills),
        certificates=list(person.certificates),
        speciality=person.speciality,
        past_training=person.past_training,
        work_history=[WorkSpell.model_validate(spell) for spell in person.work_history or []],
        intention=Intention.model_validate(person.intention or {}),
        status=person.status,
        status_since=person.status_since,
        employment=employment_of(
            person.employment_how, person.employment_where, person.employment_region_code
        ),
        updated_at=person.updated_at,
    )


async def _emit(session: AsyncSession, event_type: str, subject: str, data: dict[str, Any]) -> None:
    await add_event(session, platform.outbox, new_event(SERVICE, event_type, subject, data))


# --- registration -------------------------------------------------------------------------------------------


def _duplicate(caller: Principal, existing: Person, field: str) -> Problem:
    """Names the existing worker when the caller may see them; otherwise says only that one exists."""
    visible = in_scope(caller, existing.station_id, existing.province_code)
    extra: dict[str, Any] = {"existing_person_id": existing.id} if visible else {}
    detail = "该身份证号码已登记" + ("" if visible else "（在其他联络站）")
    return Problem(409, detail, errors=[FieldError(field, "duplicate", "该身份证号码已登记")], **extra)


async def register_person(
    session: AsyncSession,
    vault: PiiVault,
    caller: Principal,
    data: PersonCreate,
    *,
    demand_list_id: str | None = None,
    station: Station | None = None,
) -> Person:
    if station is None:
        station = await station_for_write(session, caller, data.station_id, "body.station_id")
    resident = parse_resident_id(data.id_number)
    id_hash = vault.keyed_hash(resident.number, ID_NUMBER)
    existing = await repository.person_by_id_hash(session, id_hash)
    if existing is not None:
        raise _duplicate(caller, existing, "body.id_number")
    now = utcnow()
    today = now.date()
    person = Person(
        id=str(uuid.uuid4()),
        station_id=station.id,
        province_code=station.province_code,
        demand_list_id=demand_list_id,
        name_encrypted=vault.encrypt(data.name, "name"),
        id_number_encrypted=vault.encrypt(resident.number, ID_NUMBER),
        id_number_hash=id_hash,
        id_number_masked=mask_id_number(resident.number),
        phone_encrypted=vault.encrypt(data.phone, PHONE),
        phone_hash=vault.keyed_hash(data.phone, PHONE),
        phone_masked=mask_phone(data.phone),
        birth_date=resident.birth_date,
        birth_year=resident.birth_date.year,
        gender=resident.gender,
        birthplace_province=resident.birthplace_code[:2],
        education=data.education,
        categories=list(data.categories or []),
        key_region=bool(data.key_region),
        skills=list(data.skills or []),
        certificates=list(data.certificates or []),
        speciality=data.speciality,
        past_training=data.past_training,
        work_history=_work_history(data.work_history),
        intention=(
            data.intention.model_dump(mode="json") if data.intention else Intention().model_dump(mode="json")
        ),
        consent_given_at=data.consent.given_at,
        consent_scope=data.consent.scope,
        note_encrypted=vault.encrypt(data.note, "note") if data.note else None,
        status="seeking",
        status_since=today,
        version=1,
        created_at=now,
        updated_at=now,
    )
    session.add(person)
    session.add(
        StatusChange(
            id=str(uuid.uuid4()),
            person_id=person.id,
            status="seeking",
            previous_status=None,
            since=today,
            source="registration",
            recorded_at=now,
        )
    )
    try:
        async with session.begin_nested():
            await session.flush()
    except IntegrityError as error:  # the same ID number registered concurrently
        raise Problem(
            409,
            "该身份证号码已登记",
            errors=[FieldError("body.id_number", "duplicate", "该身份证号码已登记")],
        ) from error
    await _emit(session, PERSON_REGISTERED, person.id, person_payload(person).model_dump(mode="json"))
    return person


async def update_person(
    session: AsyncSession, vault: PiiVault, caller: Principal, person_id: str, patch: PersonPatch
) -> Person:
    person = await person_in_scope(session, caller, person_id, for_update=True)
    changes = patch.model_dump(exclude_unset=True)
    if "name" in changes and changes["name"] is None:
        raise Problem(422, "姓名不能为空", errors=[FieldError("body.name", "required", "姓名不能为空")])
    if "phone" in changes and changes["phone"] is None:
        raise Problem(422, "手机号不能为空", errors=[FieldError("body.phone", "required", "手机号不能为空")])
    if not changes:
        return person
    for name, value in changes.items():
        if name == "name":
            person.name_encrypted = vault.encrypt(value, "name")
        elif name == "phone":
            person.phone_encrypted = vault.encrypt(value, PHONE)
            person.phone_hash = vault.keyed_hash(value, PHONE)
            person.phone_masked = mask_phone(value)
        elif name == "intention":
            person.intention = patch.intention.model_dump(mode="json") if patch.intention else {}
        elif name == "work_history":
            person.work_history = _work_history(patch.work_history)
        elif name in ("categories", "skills", "certificates"):
            setattr(person, name, list(value or []))
        elif name == "key_region":
            person.key_region = bool(value)
        else:
            setattr(person, name, value)
    person.version += 1
    person.updated_at = utcnow()
    await session.flush()
    await _emit(session, PERSON_UPDATED, person.id, person_payload(person).model_dump(mode="json"))
    return person


# --- employment status and early warnings -------------------------------------------------------------------


def employment_of_change(change: StatusChangeIn, source: str) -> Employment | None:
    """Where and how a worker now works: as given; a station that records work without saying how recorded work
    the worker found on their own (placements say `placed` themselves); nothing unless employed."""
    if change.status != "employed":
        return None
    if change.employment is not None:
        return Employment.model_validate(change.employment.model_dump())
    return Employment(how="placed" if source == "placement" else "self_found")


async def change_status(
    session: AsyncSession,
    vault: PiiVault,
    person: Person,
    change: StatusChangeIn,
    *,
    source: str,
    warning_kind: str | None = None,
    employer_credit_code: str | None = None,
) -> EarlyWarning | None:
    """Records the change; 就业转失业 (or a placement that ended) raises a warning for the worker's station.
    A placement names its employer (kept while the worker is employed there)."""
    previous = person.status
    now = utcnow()
    employment = employment_of_change(change, source)
    person.employer_credit_code = employer_credit_code if employment else None
    person.employment_how = employment.how if employment else None
    person.employment_where = employment.where if employment else None
    person.employment_region_code = employment.region_code if employment else None
    session.add(
        StatusChange(
            id=str(uuid.uuid4()),
            person_id=person.id,
            status=change.status,
            previous_status=previous,
            since=change.since,
            employment_how=person.employment_how,
            employment_where=person.employment_where,
            employment_region_code=person.employment_region_code,
            note_encrypted=vault.encrypt(change.note, "note") if change.note else None,
            source=source,
            recorded_at=now,
        )
    )
    person.status = change.status
    person.status_since = change.since
    person.version += 1
    person.updated_at = now
    kind = warning_kind or (
        "employed_to_unemployed" if previous == "employed" and change.status == "unemployed" else None
    )
    await session.flush()
    await _emit(session, PERSON_STATUS_CHANGED, person.id, person_payload(person).model_dump(mode="json"))
    return await raise_warning(session, person, kind) if kind is not None else None


async def raise_warning(session: AsyncSession, person: Person, kind: str) -> EarlyWarning:
    """A warning for the worker's station (`warning.raised` carries ids and the kind only)."""
    now = utcnow()
    warning = EarlyWarning(
        id=str(uuid.uuid4()),
        person_id=person.id,
        station_id=person.station_id,
        province_code=person.province_code,
        kind=kind,
        raised_at=now,
    )
    session.add(warning)
    await session.flush()
    payload = WarningPayload(
        id=warning.id, person_id=person.id, station_id=person.station_id, kind=warning.kind, raised_at=now
    )
    await _emit(session, WARNING_RAISED, person.id, payload.model_dump(mode="json"))
    return warning


async def resolve_warning(session: AsyncSession, caller: Principal, warning_id: str) -> EarlyWarning:
    warning = await session.get(EarlyWarning, warning_id)
    if warning is None or not in_scope(caller, warning.station_id, warning.province_code):
        raise not_found("预警")
    if warning.resolved_at is None:
        warning.resolved_at = utcnow()
        await session.flush()
        resolved = WarningResolved(
            id=warning.id,
            person_id=warning.person_id,
            station_id=warning.station_id,
            resolved_at=warning.resolved_at,
        )
        await _emit(session, WARNING_RESOLVED, warning.person_id, resolved.model_dump(mode="json"))
    return warning


# --- erasure ------------------------------------------------------------------------------------------------


async def erase_person(session: AsyncSession, caller: Principal, person_id: str) -> None:
    """PIPL erasure: the personal data goes, the anonymous statistics stay (birth year, gender, province,
    categories, the status history without notes); other services drop their copies on the event."""
    person = await person_in_scope(session, caller, person_id, for_update=True)
    now = utcnow()
    for column in (
        "name_encrypted",
        "id_number_encrypted",
        "id_number_hash",
        "id_number_masked",
        "phone_encrypted",
        "phone_hash",
        "phone_masked",
        "birth_date",
        "note_encrypted",
        "consent_scope",
    ):
        setattr(person, column, None)
    person.skills = []
    person.certificates = []
    person.speciality = None
    person.past_training = None
    person.work_history = []
    person.intention = {}
    person.erased_at = now
    person.updated_at = now
    person.version += 1
    for change in await repository.status_history(session, person.id):
        change.note_encrypted = None
    # The visits' words go, their flags stay (anonymous); visits still due are not made.
    await repository.cancel_follow_ups(session, FollowUp.person_id == person.id)
    await repository.forget_follow_up_words(session, person.id)
    await session.flush()
    payload = PersonErased(id=person.id, station_id=person.station_id, erased_at=now)
    await _emit(session, PERSON_ERASED, person.id, payload.model_dump(mode="json"))


# --- station read model -------------------------------------------------------------------------------------


STATIONS = Projection[StationPayload, Station](
    Station,
    lambda station: {
        "name": station.name,
        "province_code": station.province_code,
        "partner_city_code": station.partner_city_code,
        "active": station.active,
    },
)


async def apply_station(session: AsyncSession, station: StationPayload) -> None:
    await STATIONS.apply(session, station)
