"""The trip manifest as CSV, Excel and a printable page: pure rendering, no I/O."""

from __future__ import annotations

import csv
import io
import re
from datetime import UTC, datetime

from openpyxl import load_workbook

from libs.contacts import Contact
from services.bus.manifest import (
    ERASED,
    HEADERS,
    manifest_csv,
    manifest_html,
    manifest_rows,
    manifest_xlsx,
)
from services.bus.models import Booking, Trip

STATION = "江苏驻西安新城劳务联络站"
ID_MASKED = "6101**********1234"
# A long numeric-looking value must stay text in Excel (a number would lose digits / a leading zero).
ID_DIGITS = "610102199001011234"


def trip(**overrides: object) -> Trip:
    now = datetime(2026, 11, 1, tzinfo=UTC)
    values: dict[str, object] = {
        "id": "trip-1",
        "origin_station_id": "station-1",
        "origin_province_code": "61",
        "destination_city_codes": ["3205", "3202"],
        "departs_at": datetime(2026, 11, 20, 0, 30, tzinfo=UTC),  # 08:30 in Beijing
        "arrives_at": datetime(2026, 11, 21, 0, 30, tzinfo=UTC),
        "seats": 45,
        "seats_left": 42,
        "operator": "陕西长运客运有限公司",
        "operator_id": "op-1",
        "vehicle": "陕A·12345",
        "contact": "李师傅 13800000000",
        "pickup_point": "新城区劳务联络站门口",
        "status": "scheduled",
        "created_at": now,
        "updated_at": now,
        **overrides,
    }
    return Trip(**values)


def booking(number: int, person_id: str, city: str = "3205") -> Booking:
    now = datetime(2026, 11, 2, tzinfo=UTC)
    return Booking(
        id=f"booking-{number}",
        trip_id="trip-1",
        person_id=person_id,
        station_id="station-1",
        province_code="61",
        origin_station_id="station-1",
        destination_city_code=city,
        status="confirmed",
        channel="request",
        created_at=now,
        updated_at=now,
    )


BOOKINGS = [booking(1, "p1"), booking(2, "p2", "3202"), booking(3, "p3")]
CONTACTS = {
    "p1": Contact(name="张三明", id_number_masked=ID_MASKED, phone="13900000001", phone_masked="139****0001"),
    "p2": Contact(
        name="<script>alert(1)</script>", id_number_masked=ID_DIGITS, phone="13900000002", phone_masked=None
    ),
    # p3 erased since booking: no contact
}


def parsed_csv(data: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO(data.decode("utf-8-sig"), newline="")))


def test_rows_number_seats_in_booking_order_and_mark_erased_workers() -> None:
    rows = manifest_rows(trip(), BOOKINGS, CONTACTS, with_phones=True, station_name=STATION)
    assert [row.seat for row in rows] == [1, 2, 3]
    assert [row.booking_id for row in rows] == ["booking-1", "booking-2", "booking-3"]
    assert [row.destination for row in rows] == ["苏州市", "无锡市", "苏州市"]
    assert {row.pickup_point for row in rows} == {"新城区劳务联络站门口"}
    assert rows[2].name == ERASED and rows[2].id_number_masked == "" and rows[2].phone == ""
    without_pickup = manifest_rows(
        trip(pickup_point=None), BOOKINGS, {}, with_phones=False, station_name=STATION
    )
    assert {row.pickup_point for row in without_pickup} == {STATION}
    assert {row.name for row in without_pickup} == {ERASED}


def test_csv_has_a_bom_chinese_headers_and_parses_back() -> None:
    data = manifest_csv(trip(), BOOKINGS, CONTACTS, with_phones=True, station_name=STATION)
    assert data.startswith(b"\xef\xbb\xbf")
    table = parsed_csv(data)
    assert table[0] == list(HEADERS)
    assert table[1] == [
        "1",
        "张三明",
        ID_MASKED,
        "13900000001",
        "新城区劳务联络站门口",
        "苏州市",
        "booking-1",
    ]
    assert table[3][1] == ERASED
    assert len(table) == 1 + len(BOOKINGS)


def test_phones_in_full_only_with_the_flag() -> None:
    full = parsed_csv(manifest_csv(trip(), BOOKINGS, CONTACTS, with_phones=True, station_name=STATION))
    masked = parsed_csv(manifest_csv(trip(), BOOKINGS, CONTACTS, with_phones=False, station_name=STATION))
    assert [row[3] for row in full[1:3]] == ["13900000001", "13900000002"]
    # masked: demand's mask, or masked here when demand sent none
    assert [row[3] for row in masked[1:3]] == ["139****0001", "139****0002"]
    for renderer in (manifest_csv, manifest_xlsx):
        content = renderer(trip(), BOOKINGS, CONTACTS, with_phones=False, station_name=STATION)
        assert b"13900000001" not in content
    page = manifest_html(trip(), BOOKINGS, CONTACTS, with_phones=False, station_name=STATION)
    assert "13900000001" not in page and "13900000002" not in page and "139****0001" in page


def test_csv_defuses_formulas() -> None:
    contacts = {
        "p1": Contact(name='=HYPERLINK("x")', id_number_masked=ID_MASKED, phone=None, phone_masked=None)
    }
    table = parsed_csv(manifest_csv(trip(), BOOKINGS[:1], contacts, with_phones=True, station_name=STATION))
    assert not table[1][1].startswith("=")


def test_xlsx_opens_with_title_trip_facts_and_text_cells() -> None:
    data = manifest_xlsx(trip(), BOOKINGS, CONTACTS, with_phones=True, station_name=STATION)
    sheet = load_workbook(io.BytesIO(data)).active
    assert sheet is not None
    assert sheet["A1"].value == "就业帮扶直通车乘车名单"
    facts = str(sheet["A2"].value)
    for text in (STATION, "2026-11-20 08:30", "北京时间", "陕A·12345", "陕西长运客运有限公司", "李师傅"):
        assert text in facts, text
    values = [[cell.value for cell in row] for row in sheet.iter_rows(min_row=3, max_row=6)]
    assert values[0] == list(HEADERS)
    assert values[1][:4] == [1, "张三明", ID_MASKED, "13900000001"]
    id_cell, phone_cell = sheet["C5"], sheet["D5"]
    assert id_cell.value == ID_DIGITS and id_cell.data_type == "s"
    assert phone_cell.value == "13900000002" and phone_cell.data_type == "s"
    assert values[3][1] == ERASED
    assert sheet.print_title_rows == "$3:$3"
    assert sheet.page_setup.fitToWidth == 1 and sheet.sheet_properties.pageSetUpPr.fitToPage
    assert sheet.column_dimensions["C"].width >= 18


def test_xlsx_keeps_formula_like_names_as_text() -> None:
    contacts = {"p1": Contact(name="=1+1", id_number_masked=ID_MASKED, phone=None, phone_masked=None)}
    data = manifest_xlsx(trip(), BOOKINGS[:1], contacts, with_phones=True, station_name=STATION)
    sheet = load_workbook(io.BytesIO(data)).active
    assert sheet is not None
    assert sheet["B4"].value == "=1+1" and sheet["B4"].data_type == "s"


def test_html_page_is_printable_self_contained_and_escaped() -> None:
    page = manifest_html(
        trip(operator="<b>客运</b>"), BOOKINGS, CONTACTS, with_phones=True, station_name=STATION
    )
    assert page.startswith("<!doctype html>") and '<html lang="zh-CN">' in page
    assert "<script" not in page.lower() and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "<b>客运</b>" not in page and "&lt;b&gt;客运&lt;/b&gt;" in page
    assert "@media print" in page
    assert not re.search(r"""(?:src|href)\s*=|@import|url\(""", page)  # nothing fetched from elsewhere
    assert "2026-11-20 08:30" in page and STATION in page and "签字" in page
    assert ERASED in page
    assert page.count("<tr>") == 1 + len(BOOKINGS)


def test_html_without_passengers_says_so() -> None:
    page = manifest_html(trip(), [], {}, with_phones=True, station_name=STATION)
    assert "暂无已确认的乘客" in page and "<table>" not in page
