"""Stations' HTTP routes: parse, authorise, call the service, commit, shape the answer."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Query, Request
from fastapi.responses import JSONResponse

from libs.api.pagination import Page
from libs.api.problems import validation_problem
from libs.api.routing import (
    DEFAULT_LIMIT,
    Caller,
    Cursor,
    IdempotencyKey,
    Limit,
    Session,
    caller_with_role,
    idempotent_create,
    next_time_id_cursor,
    service_router,
    time_id_cursor,
)
from libs.auth import Principal
from libs.reference.regions import is_province_code
from services.stations import repository, service
from services.stations.models import Station as StationRow
from services.stations.models import platform
from services.stations.schemas import Station, StationCreate, StationPatch, StationSummary

router = service_router("stations")


Creator = Annotated[Principal, Depends(caller_with_role(*service.CREATORS))]
Editor = Annotated[Principal, Depends(caller_with_role(*service.EDITORS))]


def station_view(station: StationRow) -> Station:
    return Station.model_validate(station, from_attributes=True)


@router.post("/stations", status_code=201, response_model=Station)
async def create_station(
    request: Request, data: StationCreate, session: Session, caller: Creator, key: IdempotencyKey = None
) -> JSONResponse:
    async def create() -> tuple[int, dict[str, object]]:
        station = await service.create_station(session, caller, data)
        return 201, station_view(station).model_dump(mode="json")

    return await idempotent_create(request, session, platform.idempotency, caller, key, create)


@router.get("/stations", response_model=Page[Station | StationSummary])
async def list_stations(
    session: Session,
    caller: Caller,
    province_code: Annotated[str | None, Query(pattern=r"^\d{2}$", description="所在省份")] = None,
    cursor: Cursor = None,
    limit: Limit = DEFAULT_LIMIT,
) -> Page[Station | StationSummary]:
    """Full records for admins, partners and stations; the directory entry for recruiters and training."""
    station_filter = service.list_filter(caller, province_code)  # 403 first for roles that may not list
    if province_code is not None and not is_province_code(province_code):
        raise validation_problem("query.province_code", "unknown_province", "不是有效的省级行政区划代码")
    after = time_id_cursor(cursor)
    if station_filter is None:
        return Page(items=[], next_cursor=None)
    rows = list(await repository.list_stations(session, station_filter, after=after, limit=limit))
    full = service.sees_contacts(caller)
    items: list[Station | StationSummary] = [
        station_view(row) if full else StationSummary.model_validate(row, from_attributes=True)
        for row in rows
    ]
    return Page(items=items, next_cursor=next_time_id_cursor(rows, limit))


@router.get("/stations/{station_id}", response_model=Station)
async def get_station(station_id: str, session: Session, caller: Caller) -> Station:
    return station_view(await service.station_in_scope(session, caller, station_id))


@router.patch("/stations/{station_id}", response_model=Station)
async def update_station(station_id: str, patch: StationPatch, session: Session, caller: Editor) -> Station:
    station = await service.update_station(session, caller, station_id, patch)
    view = station_view(station)
    return view
