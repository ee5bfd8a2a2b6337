"""One small spreadsheet must not freeze the platform (field readiness, item 12).

A 433 KB .xlsx holding 3 million blank rows used to hold the event loop for minutes in the roster and supply
imports while `/healthz` went unanswered. Both imports now parse in a worker process, count every row read
(blank ones too) towards the row limit and refuse an archive whose sheets unpack to more than an import can
hold before openpyxl reads it: a clear 413 problem, while `/healthz` keeps answering.

The files are built here: a header row written by openpyxl, then raw `<row r="N"/>` elements appended to the
sheet's XML (the same shape as the file seen in the field), and a CSV of millions of blank lines."""

from __future__ import annotations

import asyncio
import functools
import io
import time
import zipfile
from collections.abc import Sequence

import httpx
import pytest

from libs.spreadsheets import parses_in_flight, write_table
from services.demand.roster import REQUIRED_HEADERS as ROSTER_HEADERS
from services.supply.imports import REQUIRED_HEADERS as SUPPLY_HEADERS
from tests.factories import employer_body
from tests.harness import ADMIN, Platform, auth
from tests.integration.test_demand import new_station

pytestmark = pytest.mark.services("stations", "demand", "supply")

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
BLANK_ROWS = 3_000_000
_CHUNK = 100_000


def blank_rows_xlsx(headers: Sequence[str], rows: int, row_xml: str) -> bytes:
    """A workbook with the import's header row, then `rows` empty rows (`row_xml` with {n} for the number)."""
    template = zipfile.ZipFile(io.BytesIO(write_table(list(headers), [], "xlsx")))
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as out:
        for info in template.infolist():
            content = template.read(info.filename)
            if info.filename != "xl/worksheets/sheet1.xml":
                out.writestr(info.filename, content)
                continue
            head, tail = content.split(b"</sheetData>")
            with out.open(info.filename, "w", force_zip64=True) as sheet:
                sheet.write(head)
                for start in range(2, rows + 2, _CHUNK):
                    stop = min(start + _CHUNK, rows + 2)
                    sheet.write("".join(row_xml.format(n=n) for n in range(start, stop)).encode())
                sheet.write(b"</sheetData>" + tail)
    return buffer.getvalue()


def headers_of(which: str) -> Sequence[str]:
    return ROSTER_HEADERS if which == "roster" else SUPPLY_HEADERS


@functools.cache
def field_file(which: str) -> bytes:
    """The file seen in the field: 3 million `<row r="N"/>` (54 MB of XML), refused before openpyxl reads it."""
    return blank_rows_xlsx(headers_of(which), BLANK_ROWS, '<row r="{n}"/>')


@functools.cache
def blank_rows_under_the_size_limit(which: str) -> bytes:
    """1.5 million blank rows (26 MB of XML): openpyxl reads it, in a worker, until the row limit."""
    return blank_rows_xlsx(headers_of(which), BLANK_ROWS // 2, '<row r="{n}"/>')


@functools.cache
def blank_lines_csv(which: str) -> bytes:
    """A header and 9 million blank lines: 9 MB, under the 10 MiB upload limit."""
    return ",".join(headers_of(which)).encode() + b"\n" * 9_000_000


async def upload_target(platform: Platform, which: str) -> tuple[str, dict[str, str], dict[str, str]]:
    """(path, form fields, headers) of the roster or the supply import, for a caller allowed to import."""
    if which == "roster":
        station_id = await new_station(platform)
        return "/v1/demand-lists/imports", {"station_id": station_id}, auth("station", station_id=station_id)
    employer = await platform.client.post("/v1/employers", json=employer_body(), headers=ADMIN)
    assert employer.status_code == 201, employer.text
    employer_id = employer.json()["id"]
    return (
        "/v1/supply-lists/imports",
        {"employer_id": employer_id},
        auth("recruiter", employer_id=employer_id),
    )


class Upload(io.BytesIO):
    """The file as the client sends it; `sent` once httpx has read all of it onto the wire."""

    sent = False

    def read(self, size: int | None = -1) -> bytes:
        chunk = super().read(size)
        if not chunk:
            self.sent = True
        return chunk


FILES = {
    "field_file": ("名单.xlsx", field_file, XLSX),
    "under_size_limit": ("名单.xlsx", blank_rows_under_the_size_limit, XLSX),
    "csv": ("名单.csv", blank_lines_csv, "text/csv"),
}


@pytest.mark.parametrize(
    ("which", "kind", "code"),
    [
        ("roster", "field_file", "file_too_large"),
        ("supply", "field_file", "file_too_large"),
        ("roster", "under_size_limit", "too_many_rows"),
        ("supply", "under_size_limit", "too_many_rows"),
        ("roster", "csv", "too_many_rows"),
        ("supply", "csv", "too_many_rows"),
    ],
)
async def test_a_small_file_of_blank_rows_is_refused_while_healthz_answers(
    platform: Platform, which: str, kind: str, code: str
) -> None:
    path, form, headers = await upload_target(platform, which)
    name, build, mime = FILES[kind]
    content = build(which)
    # A client of its own for the upload, so the health checks do not queue behind it in one pool.
    async with httpx.AsyncClient(base_url=platform.base_url, timeout=300) as uploader:
        started = time.monotonic()
        upload = asyncio.create_task(
            uploader.post(path, data=form, files={"file": (name, content, mime)}, headers=headers)
        )
        # /healthz asked and answered while a worker was reading the file: the loop kept serving meanwhile
        meanwhile, slowest = 0, 0.0
        while not upload.done():
            reading = parses_in_flight() > 0
            asked = time.monotonic()
            check = await platform.client.get("/healthz")
            slowest = max(slowest, time.monotonic() - asked)
            assert check.status_code == 200, check.text
            meanwhile += reading and parses_in_flight() > 0
        response = await upload
        took = time.monotonic() - started

    print(
        f"\n{which} {kind} ({len(content) // 1024} KB): {response.status_code} after {took:.2f} s; "
        f"{meanwhile} /healthz answered while it was read, slowest /healthz {slowest:.3f} s"
    )
    assert response.status_code == 413, response.text
    problem = response.json()
    assert problem["type"] == "https://eastwest.dev/problems/payload-too-large"
    [error] = problem["errors"]
    assert (error["field"], error["code"]) == ("form.file", code)
    assert "空行" in error["message"], error  # Chinese, and says what to fix
    if kind == "under_size_limit":
        # openpyxl goes through 1.5 million rows on opening: the health checks meanwhile were answered
        assert meanwhile >= 1, "no /healthz was answered while the file was read"
