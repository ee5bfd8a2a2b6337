"""Stations' domain operations and who may do what. Each change writes its event to the outbox; the caller commits.

Who may do what (API.md Auth; ARCHITECTURE: an object outside the caller's scope answers 404):

    role                create                 list                        read one     patch
    admin               any origin province    every station, full         any          any field
    partner (provinces) its provinces, else    its provinces, full; a      its          any field, its
                        404 on province_code   province_code outside them  provinces    provinces
                                               gives an empty list
    station (id)        403                    its own station, full       its own      its own: name, address,
                                                                                        contact_phone; sending
                                                                                        partner_city_code or
                                                                                        active is 403
    recruiter, training 403                    directory: active stations, 404          403
                                               no address or phone
    public              403                    403                         404          403

"Else 404" everywhere a caller names a station or province it may not see, so that the answer does not
tell it the object exists. Why the directory: recruiters plan on-site recruitment and training bases run
order-based courses with stations, and need to know which stations exist and which city each pairs with;
the directory carries only what the station.* events already publish (no address, no phone). Reading one
station is the full record, contact details included, so it stays within the station's own scope; public
callers (feed readers) have no use for stations at all. The role checks for writes run before the body
is validated, so a caller who may never write learns nothing from a 422; a caller who may write gets its
body checked before the station is looked up (a 422 says nothing about a station outside its scope).
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from libs.api.problems import FieldError, Problem, not_found
from libs.auth import Principal, Role, require_role
from libs.db import utcnow
from libs.events.contracts import STATION_CREATED, STATION_UPDATED, StationPayload
from libs.events.envelope import new_event
from libs.events.outbox import add_event
from services.stations import repository
from services.stations.models import Station, platform
from services.stations.schemas import StationCreate, StationPatch

SERVICE = "stations"

CREATORS = (Role.admin, Role.partner)
EDITORS = (Role.admin, Role.partner, Role.station)
LIST_READERS = (Role.admin, Role.partner, Role.station, Role.recruiter, Role.training)
# What a station may change about itself; partner city and active are the partner province's decision.
STATION_EDITABLE = frozenset({"name", "address", "contact_phone"})


# --- scope --------------------------------------------------------------------------------------------------


def in_scope(caller: Principal, station: Station) -> bool:
    """The stations a caller may read in full and (by role) change."""
    if caller.is_admin:
        return True
    if caller.role is Role.partner:
        return station.province_code in caller.provinces
    if caller.role is Role.station:
        return station.id == caller.station_id
    return False


def sees_contacts(caller: Principal) -> bool:
    """Full records in lists; recruiters and training bases get the directory entry only."""
    return caller.role in (Role.admin, Role.partner, Role.station)


def list_filter(caller: Principal, province_code: str | None) -> repository.StationFilter | None:
    """What the list shows this caller; None when its scope leaves nothing to show."""
    require_role(caller, *LIST_READERS)
    asked = None if province_code is None else (province_code,)
    if caller.is_admin:
        return repository.StationFilter(province_codes=asked)
    if caller.role is Role.partner:
        allowed = tuple(code for code in caller.provinces if asked is None or code in asked)
        return repository.StationFilter(province_codes=allowed) if allowed else None
    if caller.role is Role.station:
        if caller.station_id is None:
            return None
        return repository.StationFilter(province_codes=asked, station_id=caller.station_id)
    if caller.role in (Role.recruiter, Role.training):
        return repository.StationFilter(province_codes=asked, active_only=True)
    raise Problem(403, f"角色 {caller.role} 无权查看联络站")


# --- stations -----------------------------------------------------------------------------------------------


def station_payload(station: Station) -> StationPayload:
    return StationPayload.model_validate(station, from_attributes=True)


async def _emit(session: AsyncSession, event_type: str, station: Station) -> None:
    data = station_payload(station).model_dump(mode="json")
    await add_event(session, platform.outbox, new_event(SERVICE, event_type, station.id, data))


def _duplicate(caller: Principal, existing: Station | None = None) -> Problem:
    """409 on the name; the existing station's id only for a caller who may read it."""
    shown = existing is not None and in_scope(caller, existing)
    extra: dict[str, Any] = {"existing_id": existing.id} if shown and existing is not None else {}
    return Problem(
        409,
        "同一县内已有同名的联络站",
        errors=[FieldError("body.name", "duplicate", "同一县内已有同名的联络站")],
        **extra,
    )


async def create_station(session: AsyncSession, caller: Principal, data: StationCreate) -> Station:
    if caller.role not in CREATORS:
        raise Problem(403, f"角色 {caller.role} 无权登记联络站")
    if not caller.is_admin and data.province_code not in caller.provinces:
        problem = not_found("省份")
        problem.errors = [FieldError("body.province_code", "not_found", "该省份不在您的权限范围内")]
        raise problem
    existing = await repository.station_named(session, data.county_code, data.name)
    if existing is not None:
        raise _duplicate(caller, existing)
    now = utcnow()
    station = Station(
        id=str(uuid.uuid4()),
        name=data.name,
        province_code=data.province_code,
        city_code=data.city_code or data.county_code[:4],
        county_code=data.county_code,
        partner_city_code=data.partner_city_code,
        address=data.address,
        contact_phone=data.contact_phone,
        active=True,
        version=1,
        created_at=now,
        updated_at=now,
    )
    session.add(station)
    try:
        await session.flush()
    except IntegrityError as error:  # the same name registered concurrently
        raise _duplicate(caller) from error
    await _emit(session, STATION_CREATED, station)
    return station


async def station_in_scope(
    session: AsyncSession, caller: Principal, station_id: str, *, for_update: bool = False
) -> Station:
    station = await repository.get_station(session, station_id, for_update=for_update)
    if station is None or not in_scope(caller, station):
        raise not_found("联络站")
    return station


async def update_station(
    session: AsyncSession, caller: Principal, station_id: str, patch: StationPatch
) -> Station:
    """Apply the fields sent; a real change bumps `version` and publishes station.updated, a no-op does not."""
    if caller.role not in EDITORS:
        raise Problem(403, f"角色 {caller.role} 无权修改联络站")
    station = await station_in_scope(session, caller, station_id, for_update=True)
    changes: dict[str, Any] = patch.model_dump(exclude_unset=True)
    if caller.role is Role.station:
        refused = sorted(changes.keys() - STATION_EDITABLE)
        if refused:
            raise Problem(
                403,
                "联络站账号只能修改名称、地址和联系电话；结对城市和停用由省级伙伴或管理员修改",
                errors=[
                    FieldError(f"body.{name}", "forbidden", "联络站账号不能修改此字段") for name in refused
                ],
            )
    changes = {name: value for name, value in changes.items() if getattr(station, name) != value}
    if not changes:
        return station
    if "name" in changes:
        existing = await repository.station_named(session, station.county_code, changes["name"])
        if existing is not None and existing.id != station.id:
            raise _duplicate(caller, existing)
    for name, value in changes.items():
        setattr(station, name, value)
    station.version += 1
    station.updated_at = utcnow()
    try:
        await session.flush()
    except IntegrityError as error:
        raise _duplicate(caller) from error
    await _emit(session, STATION_UPDATED, station)
    return station
