"""`eastwest import demand FILE`: upload a large roster (花名册) in chunks, safely re-runnable.

Each chunk is its own import request with an Idempotency-Key derived from the file's bytes and the chunk's
position, so running the command again after a failure (or twice by mistake) replays the answers already
stored instead of registering anyone twice. Rejections come back with the row numbers of the original file.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from libs.spreadsheets import SheetRow, read_table, write_table
from services.demand.roster import REQUIRED_HEADERS

IMPORT_PATH = "/v1/demand-lists/imports"
# Chunking is what lets a file exceed the server's per-upload limit; this only bounds memory.
_MAX_FILE_ROWS = 200_000
_TIMEOUT = httpx.Timeout(120.0, connect=10.0)


@dataclass(frozen=True)
class Rejection:
    """One rejected cell, `row` numbered as in the file the user has open."""

    row: int
    column: str
    code: str
    message: str


@dataclass
class UploadSummary:
    total_rows: int = 0
    accepted: int = 0
    rejected: list[Rejection] = field(default_factory=list)
    list_ids: list[str] = field(default_factory=list)


class UploadError(RuntimeError):
    """The server refused a chunk; chunks before it are imported, and re-running resumes safely."""

    def __init__(self, message: str, *, status: int, chunk: int) -> None:
        super().__init__(message)
        self.status = status
        self.chunk = chunk


async def upload_roster(
    path: Path,
    *,
    station_id: str,
    base_url: str,
    token: str,
    chunk_rows: int = 200,
    progress: Callable[[int, int], None],
    transport: httpx.AsyncBaseTransport | None = None,
) -> UploadSummary:
    """Read the roster locally (a broken file fails before anything is sent), then POST it chunk by chunk.

    `transport` is for tests (httpx.MockTransport / ASGITransport); the command leaves it unset.
    """
    if chunk_rows < 1:
        raise ValueError("chunk_rows must be at least 1")
    data, rows = await asyncio.to_thread(_read_roster, path)
    digest = hashlib.sha256(data).hexdigest()
    summary = UploadSummary(total_rows=len(rows))
    if not rows:
        return summary
    headers = list(rows[0].values)
    async with httpx.AsyncClient(
        base_url=base_url.rstrip("/"),
        headers={"Authorization": f"Bearer {token}"},
        timeout=_TIMEOUT,
        transport=transport,
    ) as client:
        for index, start in enumerate(range(0, len(rows), chunk_rows)):
            chunk = rows[start : start + chunk_rows]
            content = write_table(headers, [[row.values[h] for h in headers] for row in chunk], "csv")
            response = await client.post(
                IMPORT_PATH,
                files={"file": (f"{path.stem}-{index + 1}.csv", content, "text/csv")},
                data={"station_id": station_id},
                headers={"Idempotency-Key": f"{digest}-{index}"},
            )
            if not response.is_success:
                first, last = chunk[0].number, chunk[-1].number
                raise UploadError(
                    f"第 {index + 1} 批（第 {first}–{last} 行）上传失败（HTTP {response.status_code}）："
                    f"{_problem_detail(response)}",
                    status=response.status_code,
                    chunk=index,
                )
            _add_result(summary, response.json(), chunk)
            progress(start + len(chunk), len(rows))
    return summary


def _read_roster(path: Path) -> tuple[bytes, list[SheetRow]]:
    data = path.read_bytes()
    return data, read_table(data, path.name, required_headers=REQUIRED_HEADERS, max_rows=_MAX_FILE_ROWS)


def _add_result(summary: UploadSummary, body: dict[str, Any], chunk: list[SheetRow]) -> None:
    """The chunk CSV has its header on row 1, so its row n is the chunk's (n - 2)th row."""
    summary.accepted += int(body["accepted"])
    summary.list_ids.append(str(body["list_id"]))
    for item in body.get("rejected", []):
        position = int(item["row"]) - 2
        row = chunk[position].number if 0 <= position < len(chunk) else int(item["row"])
        summary.rejected.append(
            Rejection(
                row=row, column=str(item["column"]), code=str(item["code"]), message=str(item["message"])
            )
        )


def _problem_detail(response: httpx.Response) -> str:
    """RFC 9457 `detail` (with the failing fields) when the server sent one, else the raw text."""
    try:
        body = response.json()
    except ValueError:
        return response.text[:500] or response.reason_phrase
    if not isinstance(body, dict):
        return str(body)[:500]
    detail = str(body.get("detail") or body.get("title") or response.reason_phrase)
    fields = [str(error.get("message")) for error in body.get("errors") or [] if isinstance(error, dict)]
    extra = [message for message in fields if message and message not in detail]
    return "；".join([detail, *extra])
