"""Reading and writing the spreadsheets stations and employers exchange with the platform (.xlsx and .csv).

Everything is text on the way in: the services validate cell text themselves, so an 18-digit ID number that
Excel already mangled into "3.20501199001011E+17" reaches the validator as that text and is reported, instead
of being silently "repaired" into a wrong number here.

Every upload is bounded: a 433 KB .xlsx can hold 3 million empty rows (150 MB of XML), and openpyxl is pure
Python that holds the GIL while it reads them. So a service reads uploads with `read_table_bounded`: in a
worker process (a thread would still hold the GIL), killed after a time limit; every row read counts towards
the row limit, blank ones too; and an archive that unpacks to more than the rows allowed can hold is refused
before openpyxl opens it. Each of these is a `SpreadsheetTooLarge` (a 413 for the caller).
"""

from __future__ import annotations

import asyncio
import csv
import io
import math
import multiprocessing
import re
import resource
import threading
import unicodedata
import zipfile
from collections.abc import Collection, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time
from enum import Enum
from typing import Literal

from openpyxl import Workbook, load_workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Alignment, Font
from openpyxl.utils import get_column_letter
from pebble import ProcessExpired, ProcessPool

NOTES_SHEET_TITLE = "填写说明"
MAX_ROWS = 20000
# How long a worker may read one upload: a 20,000-row roster takes about 4 s on an idle core.
PARSE_SECONDS = 30.0
# Workers reading uploads at once, per process; further uploads wait for one (the time limit starts then).
PARSE_WORKERS = 2
# A worker is replaced after this many files (openpyxl's memory is given back) and may use this much.
_TASKS_PER_WORKER = 50
# How long past the worker's own time limit a result may take to arrive before the upload is refused anyway.
_RESULT_GRACE_SECONDS = 10.0
_WORKER_MEMORY_BYTES = 2 << 30
# The unpacked .xlsx may hold the parts every workbook has (theme, styles: up to a few hundred KB) and, per row
# allowed, a generous row of XML (a 20,000-row roster is 15 MB): a 20,000-row import may unpack to 36 MB. openpyxl
# reads a sheet without a <dimension> once through on opening, so this bounds that too (about 5 s at most).
_UNPACKED_BASE_BYTES = 4 << 20
_UNPACKED_BYTES_PER_ROW = 1600
# Columns read per row: templates have about 25. A cell at column XFD must not make every row 16,384 wide.
_MAX_COLUMNS = 200

# A title row ("XX公司岗位需求表") above the headers is common; look this far for the real header row.
_HEADER_SEARCH_ROWS = 10
# Excel keeps 15 significant digits; a whole float beyond that may already have lost digits.
_EXACT_FLOAT_LIMIT = 1e15
_WIDTH_SAMPLE_ROWS = 500
_MIN_WIDTH, _MAX_WIDTH = 8, 60
# Cells starting with these run as formulas when a CSV is opened in Excel (CSV injection).
_FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
_ILLEGAL_XML_CHARS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")


@dataclass(frozen=True)
class SheetRow:
    """One data row; `number` is the row number the user sees in Excel, so errors can point at it."""

    number: int
    values: dict[str, str]


class SpreadsheetError(ValueError):
    """The file as a whole cannot be imported; the message is shown to the user as is, `code` is stable."""

    status = 422

    def __init__(self, message: str, code: str = "unreadable_file") -> None:
        super().__init__(message)
        self.message = message
        self.code = code

    def __reduce__(self) -> tuple[type[SpreadsheetError], tuple[str, str]]:
        # raised in a worker process and re-raised here: keep the code across pickling
        return type(self), (self.message, self.code)


class SpreadsheetTooLarge(SpreadsheetError):
    """The file holds more than an import may read (rows, unpacked size, reading time): 413 for the caller."""

    status = 413


def normalize_header(text: str) -> str:
    """Templates mark required columns with "*", users add spaces: neither is part of the column's name."""
    return text.strip().rstrip("*＊").strip()


def read_table(
    data: bytes,
    filename: str,
    *,
    required_headers: Sequence[str] = (),
    max_rows: int = MAX_ROWS,
) -> list[SheetRow]:
    """Read the first sheet of an .xlsx or a .csv into rows keyed by (normalized) header, in this thread.

    Fully empty rows are skipped but keep their place in the numbering. A header-only file gives []. Every row
    read counts towards `max_rows`, empty ones too: that is what bounds the work, not only the result.
    Services use `read_table_bounded`, which runs this in a worker process with a time limit.
    """
    suffix = filename.rsplit(".", 1)[-1].lower() if "." in filename else ""
    if suffix == "xls":
        raise SpreadsheetError("不支持旧版 Excel（.xls）文件，请在 Excel 中另存为 .xlsx 后再上传")
    if suffix not in ("xlsx", "csv"):
        raise SpreadsheetError("不支持的文件类型，请上传 .xlsx 或 .csv 文件")
    if not data.strip():
        raise SpreadsheetError("文件为空")
    if suffix == "xlsx":
        _check_unpacked_size(data, _UNPACKED_BASE_BYTES + max_rows * _UNPACKED_BYTES_PER_ROW)
        return _rows_to_table(_xlsx_rows(data), required_headers, max_rows)
    return _rows_to_table(_csv_rows(data), required_headers, max_rows)


_pool: ProcessPool | None = None
_pool_lock = threading.Lock()
_in_flight = 0


async def read_table_bounded(
    data: bytes,
    filename: str,
    *,
    required_headers: Sequence[str] = (),
    max_rows: int = MAX_ROWS,
    seconds: float = PARSE_SECONDS,
) -> list[SheetRow]:
    """`read_table` in a worker process, so the event loop keeps serving; a worker still reading after
    `seconds` is killed and the file refused (`SpreadsheetTooLarge`), like one that ran out of memory."""
    global _in_flight
    future = _worker_pool().schedule(
        read_table,
        args=(data, filename),
        kwargs={"required_headers": tuple(required_headers), "max_rows": max_rows},
        timeout=seconds,
    )
    _in_flight += 1
    try:
        # Bounded on this side too: pebble can lose a task when it kills a worker at the moment the worker takes
        # the next one (noxdafox/pebble#153), and a request must never wait for ever.
        async with asyncio.timeout(seconds + _RESULT_GRACE_SECONDS):
            return await asyncio.wrap_future(future)
    except TimeoutError as error:
        future.cancel()  # type: ignore[no-untyped-call]
        raise SpreadsheetTooLarge(
            f"文件内容过于复杂，{seconds:g} 秒内未能读完，请删除多余的行、列和格式，或拆分为多个文件分批导入",
            "file_too_complex",
        ) from error
    except ProcessExpired as error:  # the worker died (out of memory)
        raise _out_of_memory() from error
    finally:
        _in_flight -= 1


def _out_of_memory() -> SpreadsheetTooLarge:
    return SpreadsheetTooLarge(
        "文件内容过大，读取时超出内存上限：请删除多余的行、列和格式，或拆分为多个文件分批导入",
        "file_too_large",
    )


def parses_in_flight() -> int:
    """Uploads being read in a worker right now (in this process)."""
    return _in_flight


def _worker_pool() -> ProcessPool:
    """Created on first use; `spawn` because forking a process with database and NATS threads may deadlock."""
    global _pool
    with _pool_lock:
        if _pool is None or not _pool.active:
            _pool = ProcessPool(
                max_workers=PARSE_WORKERS,
                max_tasks=_TASKS_PER_WORKER,
                initializer=_limit_worker_memory,
                context=multiprocessing.get_context("spawn"),
            )
        return _pool


def _limit_worker_memory() -> None:
    """A worker that would take more memory than this fails (and is replaced) instead of the machine."""
    _soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    limit = _WORKER_MEMORY_BYTES if hard == resource.RLIM_INFINITY else min(hard, _WORKER_MEMORY_BYTES)
    resource.setrlimit(resource.RLIMIT_AS, (limit, hard))


def _check_unpacked_size(data: bytes, limit: int) -> None:
    """An .xlsx is a zip: refuse one that unpacks to more XML than `limit` before openpyxl reads any of it.

    The sizes come from the archive's directory; zipfile stops reading an entry at its declared size, so a
    lying directory gives a broken file, not a larger one."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            unpacked = sum(info.file_size for info in archive.infolist())
    except (zipfile.BadZipFile, ValueError) as error:
        raise SpreadsheetError("无法读取该 Excel 文件，请确认文件未损坏且为 .xlsx 格式") from error
    if unpacked > limit:
        raise SpreadsheetTooLarge(
            f"文件解压后有 {unpacked / 2**20:.0f} MB，超过导入上限 {limit / 2**20:.0f} MB：通常是表格中有大量空行"
            "或整行设置了格式。请在 Excel 中删除数据下方的空行后另存，或拆分为多个文件分批导入",
            "file_too_large",
        )


def _xlsx_rows(data: bytes) -> Iterator[tuple[int, list[str]]]:
    try:
        workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except MemoryError as error:
        raise _out_of_memory() from error
    except Exception as error:
        raise SpreadsheetError("无法读取该 Excel 文件，请确认文件未损坏且为 .xlsx 格式") from error
    try:
        if not workbook.worksheets:
            raise SpreadsheetError("文件为空")
        sheet = workbook.worksheets[0]
        # Some generators write a wrong <dimension>; trusting it would silently drop rows.
        sheet.reset_dimensions()
        try:
            # Read-only iteration yields gap rows as empty tuples, so enumerate gives the Excel row number.
            rows = sheet.iter_rows(max_col=_MAX_COLUMNS, values_only=True)
            for number, cells in enumerate(rows, start=1):
                yield number, [cell_text(value) for value in cells]
        except MemoryError as error:
            raise _out_of_memory() from error
        except Exception as error:
            raise SpreadsheetError("无法读取该 Excel 文件，请确认文件未损坏且为 .xlsx 格式") from error
    finally:
        workbook.close()


def _csv_rows(data: bytes) -> Iterator[tuple[int, list[str]]]:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        # Chinese Excel saves "CSV" in the ANSI code page, i.e. GBK, which GB18030 contains.
        try:
            text = data.decode("gb18030")
        except UnicodeDecodeError as error:
            raise SpreadsheetError("无法识别 CSV 文件的编码，请另存为 UTF-8 或 GBK 编码的 CSV") from error
    try:
        # Each CSV record is one Excel row, even when a quoted cell spans several lines.
        for number, cells in enumerate(csv.reader(io.StringIO(text, newline="")), start=1):
            yield number, [cell.strip() for cell in cells]
    except csv.Error as error:
        raise SpreadsheetError("CSV 文件格式错误，无法读取") from error


def cell_text(value: object) -> str:
    """What the user typed, as text; numbers that may have lost digits keep their float text."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if value.is_integer() and abs(value) < _EXACT_FLOAT_LIMIT:
            return str(int(value))
        return repr(value)
    if isinstance(value, datetime):
        return value.date().isoformat()
    if isinstance(value, date | time):
        return value.isoformat()
    return str(value).strip()


def _rows_to_table(
    rows: Iterable[tuple[int, list[str]]], required_headers: Sequence[str], max_rows: int
) -> list[SheetRow]:
    required = [normalize_header(header) for header in required_headers]
    iterator = _counted(rows, max_rows + _HEADER_SEARCH_ROWS, max_rows)
    headers = _find_header_row(iterator, required)
    table: list[SheetRow] = []
    for number, cells in iterator:
        values = {
            header: (cells[index] if index < len(cells) else "")
            for index, header in enumerate(headers)
            if header
        }
        if not any(values.values()):
            continue
        if len(table) >= max_rows:
            raise _too_many_rows(max_rows)
        table.append(SheetRow(number=number, values=values))
    return table


def _counted(
    rows: Iterable[tuple[int, list[str]]], limit: int, max_rows: int
) -> Iterator[tuple[int, list[str]]]:
    """Stop at the row after `limit`, empty or not: 3 million blank rows are 3 million rows of work."""
    for count, row in enumerate(rows, start=1):
        if count > limit:
            raise _too_many_rows(max_rows)
        yield row


def _too_many_rows(max_rows: int) -> SpreadsheetTooLarge:
    return SpreadsheetTooLarge(
        f"数据行数超过上限 {max_rows} 行（空行也计入）：请删除数据下方的空行，或拆分为多个文件分批导入",
        "too_many_rows",
    )


def _find_header_row(rows: Iterator[tuple[int, list[str]]], required: Sequence[str]) -> list[str]:
    """Consume rows up to and including the header row and return the normalized headers."""
    first: list[str] | None = None
    seen = 0
    for _number, cells in rows:
        headers = [normalize_header(cell) for cell in cells]
        if not any(headers):
            continue
        if first is None:
            first = headers
        if all(header in headers for header in required):
            _check_duplicates(headers)
            return headers
        seen += 1
        if seen >= _HEADER_SEARCH_ROWS:
            break
    if first is None:
        raise SpreadsheetError("文件为空，未找到表头")
    missing = [header for header in required if header not in first]
    raise SpreadsheetError(f"缺少必填列：{'、'.join(missing)}")


def _check_duplicates(headers: Sequence[str]) -> None:
    seen: set[str] = set()
    duplicates: list[str] = []
    for header in headers:
        if header and header in seen and header not in duplicates:
            duplicates.append(header)
        seen.add(header)
    if duplicates:
        raise SpreadsheetError(f"表头重复：{'、'.join(duplicates)}，每列名称只能出现一次")


def write_table(
    headers: Sequence[str],
    rows: Iterable[Sequence[object]],
    fmt: Literal["xlsx", "csv"],
    *,
    sheet_title: str = "Sheet1",
    notes: Sequence[tuple[str, str]] = (),
    text_headers: Collection[str] = (),
) -> bytes:
    """Export rows the way Excel users expect: Chinese that opens correctly and ID numbers kept as text."""
    if fmt == "csv":
        return _write_csv(headers, rows)
    return _write_xlsx(headers, list(rows), sheet_title, notes, text_headers)


def _write_csv(headers: Sequence[str], rows: Iterable[Sequence[object]]) -> bytes:
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer)
    writer.writerow(headers)
    for row in rows:
        writer.writerow([_csv_value(value) for value in row])
    # The BOM is what makes Excel read the file as UTF-8 rather than GBK.
    return buffer.getvalue().encode("utf-8-sig")


def _csv_value(value: object) -> str:
    if isinstance(value, Enum):
        value = value.value
    if isinstance(value, datetime) and value.time() != time():
        return value.isoformat(sep=" ", timespec="seconds")
    text = cell_text(value)
    if isinstance(value, str) and text.startswith(_FORMULA_PREFIXES):
        return "'" + text
    return text


@dataclass(frozen=True)
class Sheet:
    """One sheet of a workbook: a title line above the table when given (a report's scope and month), printed
    landscape and one page wide."""

    title: str
    headers: Sequence[str]
    rows: Sequence[Sequence[object]]
    heading: str | None = None
    text_headers: Collection[str] = ()


def write_workbook(sheets: Sequence[Sheet], notes: Sequence[tuple[str, str]] = ()) -> bytes:
    """Several tables in one XLSX file, one sheet each (a report), with the same cells as `write_table`."""
    workbook = Workbook(write_only=True)
    bold = Font(bold=True)
    for sheet in sheets:
        _add_sheet(workbook, sheet, bold)
    if notes:
        _append_notes(workbook, notes, bold)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def _write_xlsx(
    headers: Sequence[str],
    rows: Sequence[Sequence[object]],
    sheet_title: str,
    notes: Sequence[tuple[str, str]],
    text_headers: Collection[str],
) -> bytes:
    return write_workbook([Sheet(sheet_title, headers, rows, text_headers=text_headers)], notes)


def _add_sheet(workbook: Workbook, table: Sheet, bold: Font) -> None:
    text_columns = {index for index, header in enumerate(table.headers) if header in table.text_headers}
    sheet = workbook.create_sheet(table.title)
    widths = _column_widths(table.headers, table.rows)
    for index, width in enumerate(widths):
        dimension = sheet.column_dimensions[get_column_letter(index + 1)]
        dimension.width = width
        if index in text_columns:
            # Column-level "@" also covers the rows users type in later (templates).
            dimension.number_format = "@"
    sheet.freeze_panes = "A3" if table.heading else "A2"
    if table.heading:
        heading = WriteOnlyCell(sheet, value=_clean_text(table.heading))
        heading.font = Font(bold=True, size=14)
        sheet.append([heading])
        sheet.page_setup.orientation = "landscape"
        sheet.page_setup.fitToWidth = 1
        sheet.page_setup.fitToHeight = 0
        sheet.sheet_properties.pageSetUpPr.fitToPage = True
    header_cells = []
    for header in table.headers:
        cell = WriteOnlyCell(sheet, value=_clean_text(header))
        cell.font = bold
        header_cells.append(cell)
    sheet.append(header_cells)
    for row in table.rows:
        sheet.append([_xlsx_cell(sheet, value, index in text_columns) for index, value in enumerate(row)])


def _xlsx_cell(sheet: object, value: object, as_text: bool) -> WriteOnlyCell:
    if isinstance(value, Enum):
        value = value.value
    number_format: str | None = None
    if value is None:
        content: object = None
    elif isinstance(value, bool):
        content = "是" if value else "否"
    elif as_text:
        content = _clean_text(cell_text(value))
        number_format = "@"
    elif isinstance(value, int):
        # openpyxl writes large ints through a float: an ID number would lose its last digits.
        content = value if abs(value) < _EXACT_FLOAT_LIMIT else str(value)
    elif isinstance(value, float):
        content = value if math.isfinite(value) else repr(value)
    elif isinstance(value, datetime):
        # Excel has no time zones: callers convert to local time first, the offset is dropped here.
        content = value.replace(tzinfo=None)
        number_format = "yyyy-mm-dd" if value.time() == time() else "yyyy-mm-dd hh:mm:ss"
    elif isinstance(value, date):
        content = value
        number_format = "yyyy-mm-dd"
    else:
        content = _clean_text(str(value))
    cell = WriteOnlyCell(sheet, value=content)
    if isinstance(content, str):
        # Keep user text such as "=HYPERLINK(...)" a literal string, never a formula.
        cell.data_type = "s"
    if number_format:
        cell.number_format = number_format
    return cell


def _append_notes(workbook: Workbook, notes: Sequence[tuple[str, str]], bold: Font) -> None:
    sheet = workbook.create_sheet(NOTES_SHEET_TITLE)
    sheet.column_dimensions["A"].width = max(
        _MIN_WIDTH, min(_MAX_WIDTH, max((_display_width(name) for name, _ in notes), default=0) + 2)
    )
    sheet.column_dimensions["B"].width = 80
    header = []
    for title in ("列名", "说明"):
        cell = WriteOnlyCell(sheet, value=title)
        cell.font = bold
        header.append(cell)
    sheet.append(header)
    wrap = Alignment(wrap_text=True, vertical="top")
    for name, text in notes:
        name_cell = WriteOnlyCell(sheet, value=_clean_text(name))
        text_cell = WriteOnlyCell(sheet, value=_clean_text(text))
        for cell in (name_cell, text_cell):
            cell.data_type = "s"
            cell.alignment = wrap
        sheet.append([name_cell, text_cell])


def _column_widths(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> list[float]:
    widths = [_display_width(header) for header in headers]
    for row in rows[:_WIDTH_SAMPLE_ROWS]:
        for index, value in enumerate(row[: len(widths)]):
            widths[index] = max(widths[index], _display_width(_csv_value(value)))
    return [float(max(_MIN_WIDTH, min(_MAX_WIDTH, width + 2))) for width in widths]


def _display_width(text: str) -> int:
    """Chinese characters take two columns in Excel's default font."""
    longest_line = max(text.splitlines() or [""], key=len)
    return sum(2 if unicodedata.east_asian_width(char) in "WF" else 1 for char in longest_line)


def _clean_text(text: str) -> str:
    """Control characters pasted from other systems make openpyxl refuse the whole file."""
    return _ILLEGAL_XML_CHARS.sub("", text)
