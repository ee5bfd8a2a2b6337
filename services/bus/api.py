"""Bus's HTTP routes: parse, call the service (which authorises), commit, shape the answer."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict
from datetime import date, datetime, time, timedelta
from typing import Annotated, Literal

from fastapi import Query, Request, Response
from fastapi.responses import HTMLResponse, JSONResponse
from sqlalchemy.ext.asyncio import AsyncSession

from libs.api.consistency import await_read_model
from libs.api.pagination import Page
from libs.api.routing import (
    DEFAULT_LIMIT,
    Caller,
    Cursor,
    IdempotencyKey,
    Limit,
    Session,
    file_content,
    idempotent_create,
    next_time_id_cursor,
    service_router,
    time_id_cursor,
)
from libs.auth import Role
from libs.contacts import contacts_of
from libs.db import BEIJING
from services.bus import manifest, repository, service
from services.bus.models import Booking as BookingRow
from services.bus.models import Passenger, platform
from services.bus.models import Trip as TripRow
from services.bus.schemas import (
    Booking,
    BookingCreate,
    BookingStatus,
    Manifest,
    ManifestPassenger,
    Trip,
    TripCancel,
    TripCreate,
)

router = service_router("bus")
IdQuery = Annotated[str | None, Query(min_length=1, max_length=36)]
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


async def trip_views(session: AsyncSession, rows: Sequence[TripRow]) -> list[Trip]:
    waiting = await repository.waitlist_counts(session, [row.id for row in rows])
    return [Trip.model_validate({**_columns(row), "waitlisted": waiting.get(row.id, 0)}) for row in rows]


async def trip_view(session: AsyncSession, row: TripRow) -> Trip:
    return (await trip_views(session, [row]))[0]


async def booking_views(session: AsyncSession, rows: Sequence[BookingRow]) -> list[Booking]:
    positions = await repository.waitlist_positions(session, rows)
    return [
        Booking.model_validate({**_columns(row), "waitlist_position": positions.get(row.id)}) for row in rows
    ]


async def booking_view(session: AsyncSession, row: BookingRow) -> Booking:
    return (await booking_views(session, [row]))[0]


def _columns(row: TripRow | BookingRow) -> dict[str, object]:
    return {column.key: getattr(row, column.key) for column in row.__table__.columns}


# --- trips --------------------------------------------------------------------------------------------------


@router.post("/trips", status_code=201, response_model=Trip)
async def create_trip(
    request: Request, data: TripCreate, session: Session, caller: Caller, key: IdempotencyKey = None
) -> JSONResponse:
    """A direct-bus trip from a liaison station; workers waiting for a trip from that station to one of its
    cities (before their start date) are booked onto it at once."""

    async def create() -> tuple[int, dict[str, object]]:
        trip = await service.create_trip(session, caller, data)
        await session.refresh(trip)
        return 201, (await trip_view(session, trip)).model_dump(mode="json")

    return await idempotent_create(request, session, platform.idempotency, caller, key, create)


@router.get("/trips", response_model=Page[Trip])
async def list_trips(
    session: Session,
    caller: Caller,
    origin_station_id: IdQuery = None,
    from_: Annotated[date | None, Query(alias="from", description="发车日期起（北京时间，含）")] = None,
    to: Annotated[date | None, Query(description="发车日期止（北京时间，含）")] = None,
    cursor: Cursor = None,
    limit: Limit = DEFAULT_LIMIT,
) -> Page[Trip]:
    """In departure order."""
    rows = list(
        await repository.list_trips(
            session,
            service.scope_of(caller),
            origin_station_id=origin_station_id,
            departs_from=_beijing(from_),
            departs_to=_beijing(to + timedelta(days=1)) if to is not None else None,
            after=time_id_cursor(cursor),
            limit=limit,
        )
    )
    return Page(
        items=await trip_views(session, rows), next_cursor=next_time_id_cursor(rows, limit, "departs_at")
    )


def _beijing(day: date | None) -> datetime | None:
    return datetime.combine(day, time(0), BEIJING) if day is not None else None


@router.get("/trips/{trip_id}", response_model=Trip)
async def get_trip(trip_id: str, session: Session, caller: Caller) -> Trip:
    return await trip_view(session, await service.trip_in_scope(session, caller, trip_id))


@router.post("/trips/{trip_id}/cancel", response_model=Trip)
async def cancel_trip(trip_id: str, session: Session, caller: Caller, data: TripCancel | None = None) -> Trip:
    """Its passengers move to the waitlist of the next suitable trip (seated there while seats remain), or
    wait for a trip (`unserved`) when there is none; each gets an event."""
    trip = await service.cancel_trip(session, caller, trip_id, (data or TripCancel()).reason)
    view = await trip_view(session, trip)
    return view


@router.get(
    "/trips/{trip_id}/manifest",
    response_model=Manifest,
    responses={200: {"content": file_content("text/csv", XLSX, "text/html")}},
)
async def trip_manifest(
    request: Request,
    trip_id: str,
    session: Session,
    caller: Caller,
    format: Annotated[
        Literal["json", "csv", "xlsx", "html"], Query(description="json | csv | xlsx | html（打印页）")
    ] = "json",
) -> Response:
    """The confirmed passengers in seat order: names and masked ID numbers (from demand, read now, kept
    nowhere), the phone in full for the trip's operator only, pick-up point and where each gets off."""
    trip = await service.trip_in_scope(session, caller, trip_id)
    bookings = list(await repository.on_trip(session, trip.id, ("confirmed",)))
    station = await repository.get_station(session, trip.origin_station_id)
    contacts = await contacts_of(request).lookup([booking.person_id for booking in bookings])
    with_phones = caller.role is Role.operator
    station_name = station.name if station else ""
    headers = {"Cache-Control": "no-store"}
    name = f"manifest-{trip.id}"
    if format == "csv":
        data = manifest.manifest_csv(
            trip, bookings, contacts, with_phones=with_phones, station_name=station_name
        )
        headers["Content-Disposition"] = f'attachment; filename="{name}.csv"'
        return Response(data, media_type="text/csv; charset=utf-8", headers=headers)
    if format == "xlsx":
        data = manifest.manifest_xlsx(
            trip, bookings, contacts, with_phones=with_phones, station_name=station_name
        )
        headers["Content-Disposition"] = f'attachment; filename="{name}.xlsx"'
        return Response(data, media_type=XLSX, headers=headers)
    if format == "html":
        page = manifest.manifest_html(
            trip, bookings, contacts, with_phones=with_phones, station_name=station_name
        )
        headers["Content-Security-Policy"] = "default-src 'none'; style-src 'unsafe-inline'"
        return HTMLResponse(page, headers=headers)
    rows = manifest.manifest_rows(
        trip, bookings, contacts, with_phones=with_phones, station_name=station_name
    )
    body = Manifest(
        trip=await trip_view(session, trip),
        passengers=[ManifestPassenger.model_validate(asdict(row)) for row in rows],
    )
    return JSONResponse(body.model_dump(mode="json"), headers=headers)


# --- bookings -----------------------------------------------------------------------------------------------


@router.post(
    "/trips/{trip_id}/bookings",
    status_code=201,
    response_model=Booking,
    responses={202: {"model": Booking, "description": "候补（座位已满）"}},
)
async def create_booking(
    request: Request,
    trip_id: str,
    data: BookingCreate,
    session: Session,
    caller: Caller,
    key: IdempotencyKey = None,
) -> JSONResponse:
    """201 with a confirmed seat, 202 waitlisted when the trip is full. Retry with the same Idempotency-Key:
    the answer is replayed, never a second booking. A worker registered a moment ago is waited for."""
    await await_read_model(request, Passenger, data.person_id, "bus-persons", field="body.person_id")

    async def create() -> tuple[int, dict[str, object]]:
        booking = await service.create_booking(session, caller, trip_id, data)
        view = await booking_view(session, booking)
        return (201 if booking.status == "confirmed" else 202), view.model_dump(mode="json")

    return await idempotent_create(request, session, platform.idempotency, caller, key, create)


@router.get("/bookings", response_model=Page[Booking])
async def list_bookings(
    session: Session,
    caller: Caller,
    person_id: IdQuery = None,
    trip_id: IdQuery = None,
    status: BookingStatus | None = None,
    cursor: Cursor = None,
    limit: Limit = DEFAULT_LIMIT,
) -> Page[Booking]:
    """A station sees its workers' bookings, a partner its province's, an operator those on its trips."""
    rows = list(
        await service.list_bookings(
            session,
            caller,
            person_id=person_id,
            trip_id=trip_id,
            status=status,
            after=time_id_cursor(cursor),
            limit=limit,
        )
    )
    return Page(items=await booking_views(session, rows), next_cursor=next_time_id_cursor(rows, limit))


@router.get("/bookings/{booking_id}", response_model=Booking)
async def get_booking(booking_id: str, session: Session, caller: Caller) -> Booking:
    return await booking_view(session, await service.booking_in_scope(session, caller, booking_id))


@router.delete("/bookings/{booking_id}", response_model=Booking)
async def cancel_booking(booking_id: str, session: Session, caller: Caller) -> Booking:
    """Frees the seat for the first on the waitlist; cancelling again changes nothing."""
    booking = await service.cancel_booking(session, caller, booking_id)
    view = await booking_view(session, booking)
    return view
