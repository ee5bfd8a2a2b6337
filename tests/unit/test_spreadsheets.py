"""read_table / write_table on in-memory files: what stations' and employers' Excel actually produces."""

from __future__ import annotations

import io
import zipfile
from datetime import date, datetime

import pytest
from openpyxl import Workbook, load_workbook

from libs.spreadsheets import (
    NOTES_SHEET_TITLE,
    SheetRow,
    SpreadsheetError,
    SpreadsheetTooLarge,
    read_table,
    read_table_bounded,
    write_table,
)

ID_NUMBER = "32050119900101123X"
ID_DIGITS = "320501199001011234"


def _xlsx(rows: list[list[object]], *, text_columns: tuple[str, ...] = ()) -> bytes:
    """A workbook as a user would save it, cells typed as given."""
    workbook = Workbook()
    sheet = workbook.active
    assert sheet is not None
    for row in rows:
        sheet.append(row)
    for letter in text_columns:
        for cell in sheet[letter]:
            cell.number_format = "@"
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def test_xlsx_round_trip_keeps_text_numbers_dates_and_bools() -> None:
    data = write_table(
        ["姓名", "身份证号", "期望月薪", "可到岗日期", "是否需要住宿"],
        [["张三", ID_DIGITS, 5500, date(2025, 3, 1), True], ["李四", ID_NUMBER, 4800.0, None, False]],
        "xlsx",
        text_headers=["身份证号"],
    )
    rows = read_table(data, "名单.xlsx")
    assert rows == [
        SheetRow(2, {"姓名": "张三", "身份证号": ID_DIGITS, "期望月薪": "5500", "可到岗日期": "2025-03-01",
                     "是否需要住宿": "是"}),
        SheetRow(3, {"姓名": "李四", "身份证号": ID_NUMBER, "期望月薪": "4800", "可到岗日期": "",
                     "是否需要住宿": "否"}),
    ]  # fmt: skip


def test_xlsx_layout_bold_header_text_column_and_notes_sheet() -> None:
    data = write_table(
        ["姓名", "身份证号"],
        [["张三", ID_DIGITS]],
        "xlsx",
        sheet_title="花名册",
        notes=[("姓名", "必填"), ("身份证号", "18 位")],
        text_headers=["身份证号"],
    )
    workbook = load_workbook(io.BytesIO(data))
    assert workbook.sheetnames == ["花名册", NOTES_SHEET_TITLE]
    sheet = workbook["花名册"]
    assert sheet["A1"].font.b is True
    assert sheet["B2"].number_format == "@"
    assert sheet["B2"].data_type == "s"
    assert sheet.column_dimensions["B"].width >= 18
    notes = [[cell.value for cell in row] for row in workbook[NOTES_SHEET_TITLE].iter_rows()]
    assert notes == [["列名", "说明"], ["姓名", "必填"], ["身份证号", "18 位"]]


def test_xlsx_writes_user_text_as_text_never_as_formula() -> None:
    data = write_table(["岗位名称"], [['=HYPERLINK("http://x")'], ["a\x07b"]], "xlsx")
    workbook = load_workbook(io.BytesIO(data))
    sheet = workbook.active
    assert sheet is not None
    assert sheet["A2"].data_type == "s"
    assert [row.values for row in read_table(data, "x.xlsx")] == [
        {"岗位名称": '=HYPERLINK("http://x")'},
        {"岗位名称": "ab"},
    ]


def test_xlsx_large_int_without_text_header_is_not_rounded() -> None:
    data = write_table(["身份证号"], [[int(ID_DIGITS)]], "xlsx")
    assert read_table(data, "x.xlsx")[0].values == {"身份证号": ID_DIGITS}


def test_xlsx_id_number_typed_as_text_survives() -> None:
    data = _xlsx([["姓名", "身份证号"], ["张三", ID_DIGITS]], text_columns=("B",))
    assert read_table(data, "x.xlsx")[0].values["身份证号"] == ID_DIGITS


def test_xlsx_id_number_already_a_float_is_passed_on_not_repaired() -> None:
    # Excel stores a number-typed ID as a 15-digit float; the digits are gone and must not be invented.
    data = _xlsx([["身份证号"], [float(ID_DIGITS)]])
    text = read_table(data, "x.xlsx")[0].values["身份证号"]
    assert text != ID_DIGITS
    assert "e+" in text.lower()


def test_xlsx_cell_conversion() -> None:
    data = _xlsx([["整数", "小数", "整值小数", "日期", "时间日期", "布尔", "文本"],
                  [42, 4.5, 6000.0, date(2025, 6, 30), datetime(2025, 6, 30, 8, 30), False, "  苏州  "]])  # fmt: skip  # noqa: DTZ001 (an Excel cell has no zone)
    assert read_table(data, "x.XLSX")[0].values == {
        "整数": "42",
        "小数": "4.5",
        "整值小数": "6000",
        "日期": "2025-06-30",
        "时间日期": "2025-06-30",
        "布尔": "否",
        "文本": "苏州",
    }


def test_empty_rows_skipped_with_excel_row_numbers() -> None:
    data = _xlsx([["姓名", "手机号"], ["张三", "13800000000"], [None, None], ["", " "], ["李四", None]])
    rows = read_table(data, "x.xlsx")
    assert [(row.number, row.values["姓名"]) for row in rows] == [(2, "张三"), (5, "李四")]
    assert rows[1].values["手机号"] == ""


def test_csv_round_trip_has_bom_and_keeps_rows() -> None:
    data = write_table(
        ["姓名", "身份证号", "住宿"], [["张三", ID_DIGITS, True], ["李四", ID_NUMBER, None]], "csv"
    )
    assert data.startswith(b"\xef\xbb\xbf")
    assert [row.values for row in read_table(data, "a.csv")] == [
        {"姓名": "张三", "身份证号": ID_DIGITS, "住宿": "是"},
        {"姓名": "李四", "身份证号": ID_NUMBER, "住宿": ""},
    ]


def test_csv_neutralises_formulas() -> None:
    data = write_table(["备注"], [["=1+1"], ["-"], [-5]], "csv")
    assert [row.values["备注"] for row in read_table(data, "a.csv")] == ["'=1+1", "'-", "-5"]


def test_csv_without_bom_and_gb18030() -> None:
    text = "岗位名称,工作城市\r\n装配工,苏州\r\n\r\n,\r\n焊工,无锡\r\n"
    for data in (text.encode("utf-8"), text.encode("gb18030"), text.encode("utf-8-sig")):
        rows = read_table(data, "清单.csv")
        assert [(row.number, row.values) for row in rows] == [
            (2, {"岗位名称": "装配工", "工作城市": "苏州"}),
            (5, {"岗位名称": "焊工", "工作城市": "无锡"}),
        ]


def test_csv_quoted_multiline_cell_is_one_row() -> None:
    data = '岗位名称,岗位描述\n装配工,"第一行\n第二行"\n焊工,\n'.encode()
    rows = read_table(data, "a.csv")
    assert [(row.number, row.values["岗位描述"]) for row in rows] == [(2, "第一行\n第二行"), (3, "")]


def test_headers_are_stripped_of_spaces_and_required_star() -> None:
    data = " 岗位名称* ,工作城市＊, 备注 \n装配工,苏州,\n".encode()
    rows = read_table(data, "a.csv", required_headers=["岗位名称*", "工作城市"])
    assert rows[0].values == {"岗位名称": "装配工", "工作城市": "苏州", "备注": ""}


def test_title_row_above_headers_is_skipped() -> None:
    data = _xlsx([["某某公司岗位供给清单"], ["岗位名称*", "工作城市*"], ["装配工", "苏州"]])
    rows = read_table(data, "x.xlsx", required_headers=["岗位名称", "工作城市"])
    assert rows == [SheetRow(3, {"岗位名称": "装配工", "工作城市": "苏州"})]


def test_cells_beyond_the_header_and_unnamed_columns_are_ignored() -> None:
    data = "姓名,,手机号\n张三,x,138\n,y,\n".encode()
    assert [(row.number, row.values) for row in read_table(data, "a.csv")] == [
        (2, {"姓名": "张三", "手机号": "138"})
    ]


def test_missing_required_headers_are_named() -> None:
    data = "岗位名称,月薪\n装配工,5000\n".encode()
    with pytest.raises(SpreadsheetError, match="缺少必填列：工作城市、招聘人数"):
        read_table(data, "a.csv", required_headers=["岗位名称*", "工作城市*", "招聘人数*"])


def test_duplicate_headers() -> None:
    with pytest.raises(SpreadsheetError, match="表头重复：姓名"):
        read_table("姓名,姓名*,手机号\n张三,李四,1\n".encode(), "a.csv")


def test_too_many_rows() -> None:
    data = ("姓名\n" + "".join(f"人{i}\n" for i in range(4))).encode()
    assert len(read_table(data, "a.csv", max_rows=4)) == 4
    with pytest.raises(SpreadsheetTooLarge, match="超过上限 3 行") as raised:
        read_table(data, "a.csv", max_rows=3)
    assert (raised.value.status, raised.value.code) == (413, "too_many_rows")


def _with_sheet_xml(data: bytes, rows_xml: bytes) -> bytes:
    """The workbook with raw `<row>` elements appended to its first sheet, as other generators write them."""
    source = zipfile.ZipFile(io.BytesIO(data))
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as out:
        for info in source.infolist():
            content = source.read(info.filename)
            if info.filename == "xl/worksheets/sheet1.xml":
                content = content.replace(b"</sheetData>", rows_xml + b"</sheetData>")
            out.writestr(info.filename, content)
    return buffer.getvalue()


def test_blank_rows_count_towards_the_limit() -> None:
    """Blank rows are work too: 3 million of them froze the platform, so they count like data rows."""
    csv_data = ("姓名\n" + "\n" * 20 + "张三\n").encode()
    with pytest.raises(SpreadsheetTooLarge, match="空行也计入"):
        read_table(csv_data, "a.csv", max_rows=5)
    header = write_table(["姓名"], [], "xlsx")
    blank = _with_sheet_xml(header, b"".join(b'<row r="%d"/>' % n for n in range(2, 30)))
    with pytest.raises(SpreadsheetTooLarge, match="空行也计入"):
        read_table(blank, "a.xlsx", max_rows=5)
    # a gap in the numbering is as many rows as it skips (openpyxl yields each of them)
    gap = _with_sheet_xml(
        header, b'<row r="1048576"><c r="A1048576" t="inlineStr"><is><t>x</t></is></c></row>'
    )
    with pytest.raises(SpreadsheetTooLarge, match="空行也计入"):
        read_table(gap, "a.xlsx")
    small_gap = _with_sheet_xml(
        header, b'<row r="5000"><c r="A5000" t="inlineStr"><is><t>x</t></is></c></row>'
    )
    assert [row.number for row in read_table(small_gap, "a.xlsx")] == [5000]


def test_an_xlsx_that_unpacks_to_more_than_its_rows_can_hold_is_refused_before_reading() -> None:
    """A zip bomb: 4 MB of parts every workbook has, plus 1,600 bytes per row allowed."""
    rows_xml = b"".join(b'<row r="%d" spans="1:10"/>' % n for n in range(2, 200_000))
    bomb = _with_sheet_xml(write_table(["姓名"], [], "xlsx"), rows_xml)
    assert len(bomb) < 1_000_000
    with pytest.raises(SpreadsheetTooLarge, match="解压后有 6 MB，超过导入上限 4 MB") as raised:
        read_table(bomb, "a.xlsx", max_rows=10)
    assert raised.value.code == "file_too_large"


async def test_bounded_reading_gives_the_rows_and_the_errors_of_read_table() -> None:
    data = write_table(["姓名", "手机号"], [["张三", "13800000000"]], "xlsx")
    assert await read_table_bounded(data, "a.xlsx", required_headers=["姓名"]) == read_table(data, "a.xlsx")
    with pytest.raises(SpreadsheetError, match="缺少必填列：身份证号") as raised:
        await read_table_bounded(data, "a.xlsx", required_headers=["身份证号"])
    assert (raised.value.status, raised.value.code) == (422, "unreadable_file")  # across the process boundary


async def test_a_worker_still_reading_after_the_time_limit_is_killed() -> None:
    """openpyxl goes through every row of a sheet without <dimension> on opening: far longer than 0.2 s."""
    rows_xml = b"".join(b'<row r="%d"/>' % n for n in range(2, 1_000_000))
    slow = _with_sheet_xml(write_table(["姓名"], [], "xlsx"), rows_xml)
    with pytest.raises(SpreadsheetTooLarge, match=r"0\.2 秒内未能读完") as raised:
        await read_table_bounded(slow, "a.xlsx", max_rows=2_000_000, seconds=0.2)
    assert (raised.value.status, raised.value.code) == (413, "file_too_complex")
    # the pool replaced the worker: the next file is read as usual
    assert await read_table_bounded("姓名\n张三\n".encode(), "a.csv") == [SheetRow(2, {"姓名": "张三"})]


def test_header_only_file_has_no_rows() -> None:
    assert read_table("姓名,手机号\n".encode(), "a.csv") == []


@pytest.mark.parametrize(
    ("data", "filename", "message"),
    [
        (b"x", "a.txt", "不支持的文件类型"),
        (b"x", "noextension", "不支持的文件类型"),
        (b"\xd0\xcf\x11\xe0", "old.xls", r"\.xls"),
        (b"", "a.csv", "文件为空"),
        (b"\xef\xbb\xbf\r\n,,\r\n", "a.csv", "文件为空"),
        (b"not a zip", "a.xlsx", "无法读取"),
        (b"\xff\xfe\x00\xd8\x00", "a.csv", "编码"),
        (b'a,b\n"' + b"x" * 200_000 + b'",d\n', "a.csv", "格式错误"),
    ],
)
def test_file_level_errors(data: bytes, filename: str, message: str) -> None:
    with pytest.raises(SpreadsheetError, match=message):
        read_table(data, filename)


def test_empty_xlsx_sheet() -> None:
    with pytest.raises(SpreadsheetError, match="文件为空"):
        read_table(_xlsx([]), "x.xlsx")
