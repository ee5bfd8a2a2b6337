"""Demand lists: roster (花名册) imports that keep every good row and report every bad one, and exports."""

from __future__ import annotations

import uuid
from typing import Literal

from sqlalchemy.ext.asyncio import AsyncSession

from libs.api.problems import not_found
from libs.auth import Principal
from libs.db import utcnow
from libs.pii import PiiVault
from libs.spreadsheet_cells import RowError, read_upload
from libs.spreadsheets import write_table
from services.demand import repository, service
from services.demand.models import DemandList
from services.demand.roster import (
    EXAMPLE_ID_NUMBER,
    REQUIRED_HEADERS,
    ExportPerson,
    export_rows,
    id_number_of,
    parse_roster_rows,
)
from services.demand.schemas import ImportResult

CONSENT_SCOPE = "花名册导入：就业帮扶信息登记、岗位推荐与就业跟踪"
EXPORT_BATCH = 500


async def import_roster(
    session: AsyncSession,
    vault: PiiVault,
    caller: Principal,
    *,
    station_id: str,
    filename: str,
    content: bytes,
) -> ImportResult:
    station = await service.station_for_write(session, caller, station_id, "form.station_id")
    rows = await read_upload(content, filename, required_headers=REQUIRED_HEADERS)
    now = utcnow()
    good, rejected = parse_roster_rows(
        rows, station_id=station.id, consent_at=now, consent_scope=CONSENT_SCOPE
    )
    hashes = {row: vault.keyed_hash(id_number_of(person), service.ID_NUMBER) for row, person in good}
    existing = await repository.persons_by_id_hashes(session, list(hashes.values()))
    demand_list = DemandList(
        id=str(uuid.uuid4()),
        station_id=station.id,
        province_code=station.province_code,
        filename=filename[:200],
        accepted=0,
        rejected=[],
        created_at=now,
    )
    session.add(demand_list)
    await session.flush()
    person_ids: list[str] = []
    for row, person in good:
        if person.id_number == EXAMPLE_ID_NUMBER:
            rejected.append(
                RowError(
                    row=row,
                    column="身份证号",
                    code="example_row",
                    message="这是模板中的示例行，请删除后再导入",
                )
            )
            continue
        found = existing.get(hashes[row])
        if found is not None:
            where = (
                "" if service.in_scope(caller, found.station_id, found.province_code) else "（在其他联络站）"
            )
            rejected.append(
                RowError(
                    row=row,
                    column="身份证号",
                    code="duplicate_existing",
                    message=f"该身份证号码已登记{where}",
                )
            )
            continue
        registered = await service.register_person(
            session, vault, caller, person, demand_list_id=demand_list.id, station=station
        )
        person_ids.append(registered.id)
    rejected.sort(key=lambda error: (error.row, error.column))
    demand_list.accepted = len(person_ids)
    demand_list.rejected = [error.model_dump() for error in rejected]
    await session.flush()
    return ImportResult(
        list_id=demand_list.id, accepted=len(person_ids), rejected=rejected, person_ids=person_ids
    )


async def list_in_scope(session: AsyncSession, caller: Principal, list_id: str) -> DemandList:
    demand_list = await repository.get_demand_list(session, list_id)
    if demand_list is None or not service.in_scope(caller, demand_list.station_id, demand_list.province_code):
        raise not_found("需求清单")
    return demand_list


async def export_list(
    session: AsyncSession, vault: PiiVault, caller: Principal, list_id: str, fmt: Literal["xlsx", "csv"]
) -> bytes:
    """Masked ID numbers and phones; erased workers are left out."""
    demand_list = await list_in_scope(session, caller, list_id)
    people: list[ExportPerson] = []
    after = None
    while True:
        batch = list(
            await repository.list_persons(
                session,
                service.read_scope(caller),
                station_id=None,
                status=None,
                demand_list_id=demand_list.id,
                after=after,
                limit=EXPORT_BATCH,
            )
        )
        for person in batch:
            view = service.person_view(vault, person)
            people.append(
                ExportPerson(
                    name=view.name or "",
                    id_number_masked=view.id_number_masked or "",
                    phone_masked=view.phone_masked or "",
                    categories=view.categories,
                    education=view.education,
                    skills=view.skills,
                    certificates=view.certificates,
                    speciality=view.speciality,
                    past_training=view.past_training,
                    work_history=list(person.work_history or []),
                    occupation_codes=view.intention.occupation_codes,
                    city_codes=view.intention.city_codes,
                    min_salary=view.intention.min_salary,
                    needs_dormitory=view.intention.needs_dormitory,
                    available_from=view.intention.available_from,
                    status=view.status,
                    status_since=view.status_since,
                )
            )
        if len(batch) < EXPORT_BATCH:
            break
        after = (batch[-1].created_at, batch[-1].id)
    headers, rows = export_rows(people)
    return write_table(headers, rows, fmt, sheet_title="需求清单", text_headers=("身份证号", "手机号"))
