"""A station's 1,000-row roster with 50 planted bad rows of different kinds: every good row kept, every bad row
reported with its row, column and reason; the same import again changes nothing."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest
from stdnum.cn import ric

from eastwest.roster_upload import upload_roster
from libs.spreadsheets import read_table, write_table
from services.demand.roster import ROSTER_COLUMNS
from tests.factories import person_body
from tests.harness import ADMIN, Platform, auth, retrying
from tests.integration.test_demand import new_station

pytestmark = pytest.mark.services("stations", "demand")

HEADERS = [column.header for column in ROSTER_COLUMNS]
IMPORT_TIMEOUT = httpx.Timeout(300.0, connect=10.0)


def good_row(serial: int) -> dict[str, str]:
    body = person_body("-", serial)
    return {
        "姓名": body["name"],
        "身份证号": body["id_number"],
        "手机号": body["phone"],
        "人员类别": "脱贫人口、低保对象",
        "学历": "初中",
        "技能": "电焊、叉车",
        "意向城市": "苏州、3202",
        "期望月薪": "5000",
        "是否需要住宿": "是",
        "同意授权": "是",
    }


def with_check_digit(body17: str) -> str:
    return body17 + ric.calc_check_digit(body17 + "0")


def planted(
    kind: str, serial: int, rows: list[dict[str, str]], existing_ids: list[str]
) -> tuple[dict[str, str], str, str]:
    """A bad row of the given kind, and the (column, code) it must be reported with."""
    row = good_row(serial)
    number = row["身份证号"]
    if kind == "check_digit":
        row["身份证号"] = number[:-1] + ("1" if number[-1] != "1" else "2")
        return row, "身份证号", "id_number_check_digit"
    if kind == "unknown_county":
        row["身份证号"] = with_check_digit("619999" + number[6:17])
        return row, "身份证号", "unknown_county"
    if kind == "birth_date":
        row["身份证号"] = with_check_digit(number[:10] + "1399" + number[14:17])
        return row, "身份证号", "id_number_birth_date"
    if kind == "missing_consent":
        row["同意授权"] = "否"
        return row, "同意授权", "missing_consent"
    if kind == "duplicate_in_file":
        row["身份证号"] = rows[0]["身份证号"]
        return row, "身份证号", "duplicate_in_file"
    if kind == "duplicate_existing":
        row["身份证号"] = existing_ids.pop()
        return row, "身份证号", "duplicate_existing"
    if kind == "phone":
        row["手机号"] = "0291234"
        return row, "手机号", "phone_format"
    if kind == "city":
        row["意向城市"] = "杭州"
        return row, "意向城市", "invalid_city"
    if kind == "name":
        row["姓名"] = ""
        return row, "姓名", "required"
    row["是否需要住宿"] = "也许"
    return row, "是否需要住宿", "invalid_bool"


KINDS = [
    "check_digit",
    "unknown_county",
    "birth_date",
    "missing_consent",
    "duplicate_in_file",
    "duplicate_existing",
    "phone",
    "city",
    "name",
    "bool",
]


def roster(existing_ids: list[str]) -> tuple[bytes, dict[int, tuple[str, str]]]:
    rows: list[dict[str, str]] = []
    expected: dict[int, tuple[str, str]] = {}
    for index in range(1000):
        if index % 20 == 7:  # 50 planted rows, spread over the file
            kind = KINDS[len(expected) % len(KINDS)]
            row, column, code = planted(kind, 100_000 + index, rows, existing_ids)
            expected[index + 2] = (column, code)  # row 1 is the header
        else:
            row = good_row(index)
        rows.append(row)
    content = write_table(
        HEADERS,
        [[row.get(header, "") for header in HEADERS] for row in rows],
        "xlsx",
        text_headers=("身份证号", "手机号"),
    )
    return content, expected


async def test_thousand_rows_with_fifty_bad_ones(platform: Platform) -> None:
    station_id = await new_station(platform)
    token = auth("station", station_id=station_id)
    existing = [person_body(station_id, 999_000 + serial) for serial in range(5)]
    for body in existing:
        assert (await platform.client.post("/v1/persons", json=body, headers=token)).status_code == 201
    content, expected = roster([body["id_number"] for body in existing])

    async def send(key: str) -> Any:
        # The import answers once all 1,000 rows are validated and stored, with nothing sent before: on a busy
        # machine that can take longer than the harness client's 30 s. Wait as long as the gateway does for
        # an import (proxy_read_timeout 300s in deploy/nginx/nginx.conf): a real client cannot wait longer.
        response = await retrying(
            lambda: platform.client.post(
                "/v1/demand-lists/imports",
                files={"file": ("花名册.xlsx", content)},
                data={"station_id": station_id},
                headers={**token, "Idempotency-Key": key},
                timeout=IMPORT_TIMEOUT,
            )
        )
        assert response.status_code == 201, response.text
        return response.json()

    result = await send("roster-2026-11-28")
    assert result["accepted"] == 950
    reported = {(error["row"], error["column"], error["code"]) for error in result["rejected"]}
    assert reported == {(row, column, code) for row, (column, code) in expected.items()}
    assert len(result["rejected"]) == 50

    again = await send("roster-2026-11-28")
    assert again == result
    listed = await count_workers(platform, station_id)
    assert listed == 955  # 950 from the roster and the five registered before

    demand_list = (await platform.client.get(f"/v1/demand-lists/{result['list_id']}", headers=token)).json()
    assert demand_list["accepted"] == 950 and len(demand_list["rejected"]) == 50
    export = await platform.client.get(
        f"/v1/demand-lists/{result['list_id']}/export?format=xlsx", headers=token
    )
    exported = read_table(export.content, "export.xlsx")
    assert len(exported) == 950
    assert all("**********" in row.values["身份证号"] for row in exported)
    other = auth("station", station_id=await new_station(platform, "52"))
    assert (
        await platform.client.get(f"/v1/demand-lists/{result['list_id']}/export", headers=other)
    ).status_code == 404


async def count_workers(platform: Platform, station_id: str) -> int:
    total, cursor = 0, None
    while True:
        params: dict[str, Any] = {"station_id": station_id, "limit": 200}
        if cursor:
            params["cursor"] = cursor
        page = (await platform.client.get("/v1/persons", params=params, headers=ADMIN)).json()
        total += len(page["items"])
        cursor = page["next_cursor"]
        if not cursor:
            return total


async def test_cli_upload_in_chunks_maps_rows_and_resumes(platform: Platform, tmp_path: Path) -> None:
    station_id = await new_station(platform)
    rows = [good_row(index) for index in range(25)]
    rows[13]["手机号"] = "12"
    path = tmp_path / "花名册.csv"
    path.write_bytes(write_table(HEADERS, [[row.get(h, "") for h in HEADERS] for row in rows], "csv"))
    seen: list[tuple[int, int]] = []
    token = auth("station", station_id=station_id)["Authorization"].removeprefix("Bearer ")
    summary = await upload_roster(
        path,
        station_id=station_id,
        base_url=platform.base_url,
        token=token,
        chunk_rows=10,
        progress=lambda done, total: seen.append((done, total)),
    )
    assert summary.accepted == 24 and [(r.row, r.code) for r in summary.rejected] == [(15, "phone_format")]
    assert seen == [(10, 25), (20, 25), (25, 25)] and len(summary.list_ids) == 3
    again = await upload_roster(
        path,
        station_id=station_id,
        base_url=platform.base_url,
        token=token,
        chunk_rows=10,
        progress=lambda done, total: None,
    )
    assert again.list_ids == summary.list_ids and await count_workers(platform, station_id) == 24


async def test_workers_born_before_their_county_existed_are_all_imported(platform: Platform) -> None:
    """The field's roster: people born 1960-2005 whose county was created in that time (so many were born
    before their code existed), with every education level up to 博士后. Nothing is wrongly refused."""
    from datetime import date

    from libs.reference import divisions

    counties = sorted(
        code
        for code, rows in divisions._table().items()
        if rows[-1].level == "county"
        and rows[-1].current
        and rows[0].valid_from is not None
        and 1960 <= rows[0].valid_from <= 2005
        and rows[-1].name != "市辖区"
    )
    levels = [
        "文盲",
        "小学",
        "初中",
        "高中",
        "中专",
        "技校",
        "大专",
        "本科",
        "硕士",
        "博士",
        "博士后",
        "初中学历",
    ]
    station_id = await new_station(platform)
    token = auth("station", station_id=station_id)
    rows = []
    for index in range(300):
        code = counties[index * 7 % len(counties)]
        born = date(1960 + index % 46, 1 + index % 12, 1 + index % 28)
        row = good_row(500_000 + index)
        row["身份证号"] = with_check_digit(f"{code}{born:%Y%m%d}{index % 1000:03d}")
        row["学历"] = levels[index % len(levels)]
        rows.append(row)
    born_before = sum(
        1
        for row in rows
        if int(row["身份证号"][6:10]) < (divisions.history(row["身份证号"][:6])[0].valid_from or 0)
    )
    assert born_before > 50  # the case the old check refused
    content = write_table(
        HEADERS,
        [[row.get(header, "") for header in HEADERS] for row in rows],
        "xlsx",
        text_headers=("身份证号", "手机号"),
    )
    response = await retrying(
        lambda: platform.client.post(
            "/v1/demand-lists/imports",
            files={"file": ("花名册.xlsx", content)},
            data={"station_id": station_id},
            headers={**token, "Idempotency-Key": "field-roster-1960-2005"},
            timeout=IMPORT_TIMEOUT,
        )
    )
    assert response.status_code == 201, response.text
    assert response.json()["rejected"] == [] and response.json()["accepted"] == 300
