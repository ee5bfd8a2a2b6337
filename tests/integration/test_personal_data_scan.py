"""After imports, updates and an erasure, no ID number or phone is anywhere in plain text: not in any table of
any service (SQLite and PostgreSQL), not in the logs, not in the NATS stream."""

from __future__ import annotations

import importlib
import io
import logging

from sqlalchemy import func, select

from eastwest.services import FACTORIES
from libs.observability import configure_logging
from libs.spreadsheets import write_table
from services.demand.models import platform as demand_tables
from services.demand.roster import ROSTER_COLUMNS
from tests.factories import id_number, person_body, phone
from tests.harness import Platform, auth, eventually
from tests.integration.test_demand import new_station

ROWS = 60


def roster(station_serial_base: int) -> tuple[bytes, list[str]]:
    headers = [column.header for column in ROSTER_COLUMNS]
    planted: list[str] = []
    rows = []
    for index in range(ROWS):
        serial = station_serial_base + index
        body = person_body("-", serial)
        planted += [body["id_number"], body["phone"]]
        values = {
            "姓名": body["name"],
            "身份证号": body["id_number"],
            "手机号": body["phone"],
            "人员类别": "脱贫人口",
            "意向城市": "苏州、无锡",
            "同意授权": "是",
            "备注": f"联系电话 {body['phone']}" if index == 0 else "",
        }
        rows.append([values.get(header, "") for header in headers])
    return write_table(headers, rows, "xlsx", text_headers=("身份证号", "手机号")), planted


async def test_no_plain_personal_data_in_tables_logs_or_stream(platform: Platform) -> None:
    log_buffer = io.StringIO()
    configure_logging("DEBUG", json_logs=True, stream=log_buffer)
    logging.getLogger().setLevel(logging.DEBUG)
    try:
        station_id = await new_station(platform)
        token = auth("station", station_id=station_id)
        content, planted = roster(1000)
        response = await platform.client.post(
            "/v1/demand-lists/imports",
            files={"file": ("花名册.xlsx", content)},
            data={"station_id": station_id},
            headers={**token, "Idempotency-Key": "scan-1"},
        )
        assert response.status_code == 201, response.text
        assert response.json()["accepted"] == ROWS
        person_ids = response.json()["person_ids"]
        # single registrations, an update of a phone, status changes, an erasure, and a few refusals
        extra = person_body(station_id, 5000)
        planted += [extra["id_number"], extra["phone"], phone(5001)]
        created = await platform.client.post("/v1/persons", json=extra, headers=token)
        assert created.status_code == 201
        patched = await platform.client.patch(
            f"/v1/persons/{person_ids[1]}", json={"phone": phone(5001)}, headers=token
        )
        assert patched.status_code == 200
        status = {"status": "employed", "since": "2026-11-01", "note": f"本人电话 {extra['phone']}"}
        await platform.client.post(f"/v1/persons/{person_ids[2]}/status", json=status, headers=token)
        await platform.client.post(
            f"/v1/persons/{person_ids[2]}/status",
            json={"status": "unemployed", "since": "2026-11-20"},
            headers=token,
        )
        assert (
            await platform.client.delete(f"/v1/persons/{person_ids[3]}", headers=token)
        ).status_code == 204
        duplicate = await platform.client.post("/v1/persons", json=extra, headers=token)
        assert duplicate.status_code == 409
        bad = await platform.client.post(
            "/v1/persons", json={**extra, "id_number": id_number(1)[:-1] + "Z"}, headers=token
        )
        assert bad.status_code == 422
        export = await platform.client.get(
            f"/v1/demand-lists/{response.json()['list_id']}/export?format=csv", headers=token
        )
        assert export.status_code == 200
        exported = export.content.decode("utf-8-sig")
        assert all(value not in exported for value in planted)

        outbox = demand_tables.outbox

        async def relayed() -> bool:
            async with platform.runtime("demand").sessions() as session:
                unsent = await session.scalar(
                    select(func.count()).select_from(outbox).where(outbox.c.sent_at.is_(None))
                )
            return unsent == 0

        await eventually(relayed, what="every demand event relayed")
    finally:
        configure_logging("WARNING", json_logs=False)

    found: list[str] = []
    for service in FACTORIES:
        metadata = importlib.import_module(f"services.{service}.models").Base.metadata
        async with platform.runtime(service).sessions() as session:
            for table in metadata.sorted_tables:
                for row in (await session.execute(select(table))).all():
                    text = " ".join(str(value) for value in row)
                    found += [f"{service}.{table.name}" for value in planted if value in text]
    assert found == [], found

    logs = log_buffer.getvalue()
    assert "http.request" in logs  # the logs were captured
    assert [value for value in planted if value in logs] == []

    js = platform.runtime("demand").bus.js
    info = await js.stream_info("EW")
    assert info.state.messages > ROWS  # person.registered and the rest went out
    leaked = []
    for sequence in range(info.state.first_seq, info.state.last_seq + 1):
        message = await js.get_msg("EW", sequence)
        payload = (message.data or b"").decode() + str(message.headers or {})
        leaked += [message.subject for value in planted if value in payload]
    assert leaked == []
