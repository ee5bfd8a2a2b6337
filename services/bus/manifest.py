"""A trip's manifest (乘车名单) as CSV, Excel and a printable page: pure functions, no I/O.

The personal data in it (names, masked ID numbers, phones) comes from demand when the manifest is asked for
and lives only in the answer. Full phone numbers only when the caller may see them (`with_phones`, the bus
operator); everyone else gets them masked. A worker whose personal data was erased since booking keeps the
seat in the list, marked "（信息已删除）"."""

from __future__ import annotations

import io
import re
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from html import escape

from openpyxl import Workbook
from openpyxl.styles import Alignment, Border, Font, Side
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.properties import PageSetupProperties

from libs.contacts import Contact
from libs.db import BEIJING
from libs.pii import mask_phone
from libs.reference.regions import JIANGSU_CITIES
from libs.spreadsheets import write_table
from services.bus.models import Booking, Trip

TITLE = "就业帮扶直通车乘车名单"
ERASED = "（信息已删除）"
NOT_GIVEN = "—"
HEADERS = ("座位号", "姓名", "身份证号（脱敏）", "手机号", "上车地点", "下车城市", "预订编号")
NOTICE = "本名单含个人信息，仅供本次乘车核验使用，不得转发或公开；行程结束后请销毁。"
_TEXT_COLUMNS = range(1, len(HEADERS))  # everything but the seat number is text (IDs, phones, ids)
_ILLEGAL_XML_CHARS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")
_MIN_WIDTH, _MAX_WIDTH = 8, 48


@dataclass(frozen=True)
class ManifestRow:
    seat: int
    name: str
    id_number_masked: str
    phone: str
    pickup_point: str
    destination: str
    booking_id: str

    def cells(self) -> tuple[int, str, str, str, str, str, str]:
        return (
            self.seat,
            self.name,
            self.id_number_masked,
            self.phone,
            self.pickup_point,
            self.destination,
            self.booking_id,
        )


def city_name(code: str) -> str:
    return JIANGSU_CITIES.get(code, code)


def departure_text(trip: Trip) -> str:
    return trip.departs_at.astimezone(BEIJING).strftime("%Y-%m-%d %H:%M")


def _phone(contact: Contact, with_phones: bool) -> str:
    if with_phones and contact.phone:
        return contact.phone
    if contact.phone_masked:
        return contact.phone_masked
    return mask_phone(contact.phone) if contact.phone else ""


def manifest_rows(
    trip: Trip,
    bookings: Sequence[Booking],
    contacts: Mapping[str, Contact],
    *,
    with_phones: bool,
    station_name: str,
) -> list[ManifestRow]:
    """One row per confirmed booking, seats numbered 1..n in the order given."""
    pickup = trip.pickup_point or station_name
    rows: list[ManifestRow] = []
    for seat, booking in enumerate(bookings, start=1):
        contact = contacts.get(booking.person_id)
        rows.append(
            ManifestRow(
                seat=seat,
                name=contact.name if contact else ERASED,
                id_number_masked=(contact.id_number_masked or "") if contact else "",
                phone=_phone(contact, with_phones) if contact else "",
                pickup_point=pickup,
                destination=city_name(booking.destination_city_code),
                booking_id=booking.id,
            )
        )
    return rows


def trip_facts(trip: Trip, station_name: str, passengers: int) -> list[tuple[str, str]]:
    """The heading of every format: what the driver and the station check against."""
    return [
        ("出发站", station_name),
        ("上车地点", trip.pickup_point or station_name),
        ("发车时间", f"{departure_text(trip)}（北京时间）"),
        ("停靠城市", "、".join(city_name(code) for code in trip.destination_city_codes)),
        ("车辆", trip.vehicle or NOT_GIVEN),
        ("承运单位", trip.operator),
        ("联系人", trip.contact or NOT_GIVEN),
        ("乘客", f"{passengers} 人（共 {trip.seats} 座）"),
    ]


# --- CSV ----------------------------------------------------------------------------------------------------


def manifest_csv(
    trip: Trip,
    bookings: Sequence[Booking],
    contacts: Mapping[str, Contact],
    *,
    with_phones: bool,
    station_name: str,
) -> bytes:
    """The header row and one row per passenger, UTF-8 with a BOM (Excel reads Chinese right), cells that
    would run as formulas defused."""
    rows = manifest_rows(trip, bookings, contacts, with_phones=with_phones, station_name=station_name)
    return write_table(HEADERS, [row.cells() for row in rows], "csv")


# --- Excel --------------------------------------------------------------------------------------------------


def manifest_xlsx(
    trip: Trip,
    bookings: Sequence[Booking],
    contacts: Mapping[str, Contact],
    *,
    with_phones: bool,
    station_name: str,
) -> bytes:
    """A title and the trip's facts above the table, IDs and phones as text, printed on A4 landscape one page
    wide with the header row repeated on every page, and a line for the signatures."""
    rows = manifest_rows(trip, bookings, contacts, with_phones=with_phones, station_name=station_name)
    facts = trip_facts(trip, station_name, len(rows))
    workbook = Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.title = "乘车名单"
    last_column = get_column_letter(len(HEADERS))

    sheet.append([TITLE])
    sheet.merge_cells(f"A1:{last_column}1")
    sheet["A1"].font = Font(bold=True, size=14)
    sheet["A1"].alignment = Alignment(horizontal="center")
    sheet.append([_clean("　".join(f"{label}：{value}" for label, value in facts))])
    sheet.merge_cells(f"A2:{last_column}2")
    sheet["A2"].alignment = Alignment(wrap_text=True, vertical="top")
    sheet.row_dimensions[2].height = 36
    header_row = 3
    sheet.append(list(HEADERS))
    thin = Side(style="thin")
    border = Border(left=thin, right=thin, top=thin, bottom=thin)
    for cell in sheet[header_row]:
        cell.font = Font(bold=True)
        cell.border = border
    for row in rows:
        sheet.append(list(row.cells()))
        for index, cell in enumerate(sheet[sheet.max_row]):
            cell.border = border
            if index in _TEXT_COLUMNS:
                cell.value = _clean(str(cell.value))
                cell.data_type = "s"  # "=..." stays text, never a formula
                cell.number_format = "@"
    sheet.append([])
    sheet.append(
        ["承运单位（带车人）签字：＿＿＿＿＿＿　　联络站经办人签字：＿＿＿＿＿＿　　日期：＿＿＿＿＿＿"]
    )
    sheet.merge_cells(f"A{sheet.max_row}:{last_column}{sheet.max_row}")
    sheet.append([NOTICE])
    sheet.merge_cells(f"A{sheet.max_row}:{last_column}{sheet.max_row}")
    sheet[f"A{sheet.max_row}"].font = Font(size=9, italic=True)

    for index, width in enumerate(_column_widths(rows), start=1):
        sheet.column_dimensions[get_column_letter(index)].width = width
    for index in _TEXT_COLUMNS:
        sheet.column_dimensions[get_column_letter(index + 1)].number_format = "@"
    sheet.freeze_panes = f"A{header_row + 1}"
    sheet.print_title_rows = f"{header_row}:{header_row}"
    sheet.page_setup.orientation = "landscape"
    sheet.page_setup.paperSize = sheet.PAPERSIZE_A4
    sheet.page_setup.fitToWidth = 1
    sheet.page_setup.fitToHeight = 0
    sheet.sheet_properties.pageSetUpPr = PageSetupProperties(fitToPage=True)
    sheet.print_options.horizontalCentered = True
    sheet.oddFooter.center.text = "第 &P 页，共 &N 页"
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def _column_widths(rows: Sequence[ManifestRow]) -> list[float]:
    widths = [_display_width(header) for header in HEADERS]
    for row in rows:
        for index, value in enumerate(row.cells()):
            widths[index] = max(widths[index], _display_width(str(value)))
    return [float(max(_MIN_WIDTH, min(_MAX_WIDTH, width + 2))) for width in widths]


def _display_width(text: str) -> int:
    """Chinese characters take two columns in Excel's default font."""
    return sum(2 if unicodedata.east_asian_width(char) in "WF" else 1 for char in text)


def _clean(text: str) -> str:
    """Control characters make openpyxl refuse the whole file."""
    return _ILLEGAL_XML_CHARS.sub("", text)


# --- printable page -----------------------------------------------------------------------------------------

_STYLE = """
  body { font-family: "PingFang SC", "Microsoft YaHei", "Noto Sans CJK SC", sans-serif; margin: 24px;
         color: #000; background: #fff; font-size: 14px; }
  h1 { font-size: 22px; text-align: center; margin: 0 0 12px; letter-spacing: 2px; }
  dl.trip { display: grid; grid-template-columns: repeat(4, auto 1fr); gap: 4px 8px; margin: 0 0 12px; }
  dl.trip dt { font-weight: bold; white-space: nowrap; }
  dl.trip dd { margin: 0; }
  table { width: 100%; border-collapse: collapse; }
  th, td { border: 1px solid #000; padding: 4px 6px; text-align: left; }
  th { background: #eee; white-space: nowrap; }
  td.seat { text-align: center; width: 3em; }
  td.id, td.phone, td.booking { font-family: "Courier New", monospace; white-space: nowrap; }
  td.booking { font-size: 11px; }
  td.erased { color: #666; }
  p.empty { text-align: center; padding: 24px; border: 1px solid #000; }
  .signatures { display: flex; justify-content: space-between; gap: 24px; margin-top: 36px; }
  .signatures span { flex: 1; border-bottom: 1px solid #000; padding-bottom: 24px; }
  p.notice { font-size: 12px; color: #444; margin-top: 24px; }
  @media print {
    @page { size: A4 landscape; margin: 12mm; }
    body { margin: 0; font-size: 12px; }
    th { background: #eee; -webkit-print-color-adjust: exact; print-color-adjust: exact; }
    thead { display: table-header-group; }
    tr { page-break-inside: avoid; break-inside: avoid; }
    .signatures { page-break-inside: avoid; break-inside: avoid; }
  }
"""

_CELL_CLASSES = ("seat", "name", "id", "phone", "pickup", "city", "booking")


def manifest_html(
    trip: Trip,
    bookings: Sequence[Booking],
    contacts: Mapping[str, Contact],
    *,
    with_phones: bool,
    station_name: str,
) -> str:
    """A page to print and sign: the trip's facts, the passengers, the signature lines. Inline CSS only, no
    script, nothing fetched from elsewhere; every value escaped."""
    rows = manifest_rows(trip, bookings, contacts, with_phones=with_phones, station_name=station_name)
    facts = "".join(
        f"<dt>{escape(label)}</dt><dd>{escape(value)}</dd>"
        for label, value in trip_facts(trip, station_name, len(rows))
    )
    header = "".join(f'<th scope="col">{escape(text)}</th>' for text in HEADERS)
    if rows:
        body = "".join(_html_row(row) for row in rows)
        table = f"<table><thead><tr>{header}</tr></thead><tbody>{body}</tbody></table>"
    else:
        table = '<p class="empty">暂无已确认的乘客</p>'
    title = f"{TITLE} · {station_name} · {departure_text(trip)}"
    return (
        "<!doctype html>\n"
        '<html lang="zh-CN">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        '<meta name="referrer" content="no-referrer">\n<meta name="robots" content="noindex, nofollow">\n'
        f"<title>{escape(title)}</title>\n<style>{_STYLE}</style>\n</head>\n<body>\n"
        f'<header><h1>{escape(TITLE)}</h1><dl class="trip">{facts}</dl></header>\n'
        f"<main>{table}</main>\n"
        '<footer><div class="signatures"><span>承运单位（带车人）签字：</span>'
        "<span>联络站经办人签字：</span><span>日期：</span></div>"
        f'<p class="notice">{escape(NOTICE)}</p></footer>\n'
        "</body>\n</html>\n"
    )


def _html_row(row: ManifestRow) -> str:
    cells = []
    for css, value in zip(_CELL_CLASSES, row.cells(), strict=True):
        classes = f"{css} erased" if css == "name" and value == ERASED else css
        cells.append(f'<td class="{classes}">{escape(str(value))}</td>')
    return f"<tr>{''.join(cells)}</tr>"
