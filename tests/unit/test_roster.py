"""花名册 rows -> PersonCreate or row errors, as stations fill the sheet; the template, the export, the upload."""

from __future__ import annotations

import io
import json
import re
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from openpyxl import load_workbook
from pydantic import ValidationError

from eastwest.roster_upload import UploadError, upload_roster
from libs.db import beijing_date
from libs.pii import mask_id_number, mask_phone, parse_resident_id
from libs.spreadsheet_cells import RowError
from libs.spreadsheets import NOTES_SHEET_TITLE, SheetRow, read_table, write_table
from services.demand.roster import (
    EXAMPLE_ID_NUMBER,
    REQUIRED_HEADERS,
    ROSTER_COLUMNS,
    ExportPerson,
    export_rows,
    id_number_of,
    parse_roster_rows,
    roster_template,
)
from services.demand.schemas import PersonCreate
from tests.factories import id_number

STATION = "station-1"
SCOPE = "花名册导入：就业帮扶信息登记、岗位推荐与就业跟踪"
NOW = datetime.now(UTC) - timedelta(minutes=1)
ID = id_number(123)
PHONE = "13912345678"
# An ID number whose check digit is X, to see that x and X are one number.
ID_X = next(number for number in (id_number(serial) for serial in range(1000)) if number.endswith("X"))


def _row(number: int = 2, /, **cells: str) -> SheetRow:
    values = {"姓名": "李明", "身份证号": ID, "手机号": PHONE, "同意授权": "是"}
    values.update(cells)
    return SheetRow(number=number, values=values)


def _parse(*rows: SheetRow) -> tuple[list[tuple[int, PersonCreate]], list[RowError]]:
    return parse_roster_rows(rows, station_id=STATION, consent_at=NOW, consent_scope=SCOPE)


def _one(**cells: str) -> PersonCreate:
    persons, errors = _parse(_row(**cells))
    assert errors == []
    assert len(persons) == 1
    return persons[0][1]


def _errors(**cells: str) -> list[tuple[str, str]]:
    persons, errors = _parse(_row(**cells))
    assert persons == []
    assert all(error.row == 2 for error in errors)
    return [(error.column, error.code) for error in errors]


def test_full_row_maps_every_column() -> None:
    person = _one(
        姓名="李  明",
        手机号="139-1234-5678",
        人员类别="脱贫人口、低保对象",
        学历="初中毕业",
        技能="电焊、叉车驾驶，电焊",
        证书="焊工证",
        技能特长="会开叉车\n能看懂简单电路图",
        培训经历="2024 年县人社局电工培训 15 天",
        工作经历="2018.03-2021.06 昆山电子厂 贴片；2021年7月至今 工地钢筋工",
        意向工种="电焊工、6-25-04-07",
        意向城市="苏州、3205、无锡市",
        期望月薪="5000-6000元",
        是否需要住宿="是",
        可到岗日期="2026年3月1日",
        备注="可带家属",
    )
    assert person.model_dump(exclude={"consent"}) == {
        "station_id": STATION,
        "name": "李明",
        "id_number": ID,
        "phone": PHONE,
        "education": "初中",
        "categories": ["poverty_alleviated", "dibao"],
        "key_region": None,
        "skills": ["电焊", "叉车驾驶"],
        "certificates": ["焊工证"],
        "speciality": "会开叉车\n能看懂简单电路图",
        "past_training": "2024 年县人社局电工培训 15 天",
        "work_history": [
            {
                "workplace_kind": None,
                "occupation_code": None,
                "started": date(2018, 3, 1),
                "ended": date(2021, 6, 1),
                "duties": "昆山电子厂 贴片",
                "employer": None,
            },
            {
                "workplace_kind": None,
                "occupation_code": None,
                "started": date(2021, 7, 1),
                "ended": None,
                "duties": "工地钢筋工",
                "employer": None,
            },
        ],
        "intention": {
            "occupation_codes": ["6-18-02-04", "6-25-04-07"],
            "keywords": None,
            "city_codes": ["3205", "3202"],
            "min_salary": 5000,
            "needs_dormitory": True,
            "available_from": date(2026, 3, 1),
        },
        "note": "可带家属",
    }
    assert (person.consent.given_at, person.consent.scope) == (NOW, SCOPE)


def test_minimal_row_leaves_optional_fields_unset() -> None:
    person = _one()
    assert person.intention is None
    assert person.categories is None and person.education is None and person.note is None


@pytest.mark.parametrize(
    ("cells", "expected"),
    [
        ({"身份证号": ID.replace("6", "６")}, ID),
        ({"身份证号": f" {ID[:6]} {ID[6:14]} {ID[14:]} "}, ID),
        ({"身份证号": ID_X.lower()}, ID_X),
        ({"身份证号": "'" + ID}, ID),
    ],
)
def test_id_number_is_normalised(cells: dict[str, str], expected: str) -> None:
    person = _one(**cells)
    assert person.id_number == expected == id_number_of(person)


@pytest.mark.parametrize("text", ["13912345678", "+86 139 1234 5678", "139-1234-5678", "'+8613912345678"])
def test_phone_forms(text: str) -> None:
    assert _one(手机号=text).phone == PHONE


@pytest.mark.parametrize(
    ("text", "codes"),
    [
        ("原建档立卡低收入人口", ["registered_low_income"]),
        ("农村低收入人口，低保户", ["rural_low_income", "dibao"]),
        ("脱贫户、脱贫人口", ["poverty_alleviated"]),
        ("dibao", ["dibao"]),
    ],
)
def test_categories_by_name(text: str, codes: list[str]) -> None:
    assert _one(人员类别=text).categories == codes


@pytest.mark.parametrize(
    ("text", "level"),
    [
        ("高中", "高中"),
        ("专科", "大专"),
        ("初中学历", "初中"),
        ("博士", "博士"),
        ("博士后", "博士"),
        ("博士研究生毕业", "博士"),
        ("硕士研究生", "硕士"),
        ("职业高中", "中专"),
    ],
)
def test_education_forms(text: str, level: str) -> None:
    assert _one(学历=text).education == level


@pytest.mark.parametrize(
    ("cells", "field", "value"),
    [
        ({"意向城市": "不限"}, "city_codes", None),
        ({"意向城市": "江苏"}, "city_codes", None),
        ({"意向工种": "服从安排"}, "occupation_codes", None),
        ({"期望月薪": "面议"}, "min_salary", None),
        ({"期望月薪": "５，５００元/月以上"}, "min_salary", 5500),
        ({"期望月薪": "0.6万"}, "min_salary", 6000),
        ({"可到岗日期": "随时"}, "available_from", None),
        ({"可到岗日期": "20260301"}, "available_from", date(2026, 3, 1)),
        ({"是否需要住宿": "否"}, "needs_dormitory", False),
        ({"是否需要住宿": "√"}, "needs_dormitory", True),
    ],
)
def test_intention_cells(cells: dict[str, str], field: str, value: object) -> None:
    intention = _one(**cells).intention
    assert (None if intention is None else getattr(intention, field)) == value


@pytest.mark.parametrize("text", ["是", "同意", "已授权", "Y", "√"])
def test_consent_given(text: str) -> None:
    assert _one(同意授权=text).consent.scope == SCOPE


@pytest.mark.parametrize(
    ("cells", "column", "code"),
    [
        ({"姓名": ""}, "姓名", "required"),
        ({"身份证号": " "}, "身份证号", "required"),
        ({"手机号": ""}, "手机号", "required"),
        ({"身份证号": ID[:-1] + ("0" if ID[-1] != "0" else "1")}, "身份证号", "id_number_check_digit"),
        ({"身份证号": ID[:15]}, "身份证号", "id_number_length"),
        ({"身份证号": "61010219900101A23X"}, "身份证号", "id_number_format"),
        ({"身份证号": "6.10102199001011E+17"}, "身份证号", "id_number_format"),
        ({"身份证号": id_number(1, born="19900230")}, "身份证号", "id_number_birth_date"),
        ({"身份证号": id_number(1, county="999999")}, "身份证号", "unknown_county"),
        ({"手机号": "1391234567"}, "手机号", "phone_format"),
        ({"手机号": "02512345678"}, "手机号", "phone_format"),
        ({"人员类别": "脱贫人口、贫困户"}, "人员类别", "invalid_category"),
        ({"意向城市": "苏州、杭州"}, "意向城市", "invalid_city"),
        ({"意向工种": "宇航员"}, "意向工种", "invalid_occupation"),
        ({"意向工种": "9-99-99-99"}, "意向工种", "invalid_occupation"),
        ({"期望月薪": "很多"}, "期望月薪", "invalid_number"),
        ({"期望月薪": "5000.5"}, "期望月薪", "invalid_number"),
        ({"可到岗日期": "2026-02-30"}, "可到岗日期", "invalid_date"),
        ({"可到岗日期": "过完年"}, "可到岗日期", "invalid_date"),
        ({"是否需要住宿": "看情况"}, "是否需要住宿", "invalid_bool"),
        ({"同意授权": "也许"}, "同意授权", "invalid_bool"),
        ({"同意授权": "否"}, "同意授权", "missing_consent"),
        ({"同意授权": "不同意"}, "同意授权", "missing_consent"),
        ({"同意授权": ""}, "同意授权", "missing_consent"),
        # Checks left to the schema come back under its error type, against the column.
        ({"姓名": "李"}, "姓名", "string_too_short"),
        ({"学历": "幼儿园"}, "学历", "literal_error"),
        ({"技能": "电焊、" + "很" * 31}, "技能", "string_too_long"),
        ({"期望月薪": "200000"}, "期望月薪", "less_than_equal"),
        ({"备注": "长" * 501}, "备注", "string_too_long"),
    ],
)
def test_error_codes(cells: dict[str, str], column: str, code: str) -> None:
    assert _errors(**cells) == [(column, code)]


def test_error_messages_are_chinese_and_name_columns() -> None:
    _, errors = _parse(
        _row(
            身份证号=ID[:-1] + ("0" if ID[-1] != "0" else "1"),
            学历="幼儿园",
            技能="电焊、" + "很" * 31,
            同意授权="否",
        )
    )
    assert {error.column: error.message for error in errors} == {
        "身份证号": "身份证号码校验位错误",
        "学历": "学历须为以下之一：文盲、小学、初中、高中、中专、技校、大专、本科、硕士、博士，当前为「幼儿园」",
        "技能": "技能第 2 项最多 30 个字",
        "同意授权": "未取得本人授权（同意授权须为“是”），不能登记该人员的个人信息，请取得授权后再导入",
    }


def test_all_unknown_items_of_a_list_cell_are_named() -> None:
    _, errors = _parse(_row(意向城市="杭州、苏州、上海"))
    assert [error.message for error in errors] == [
        "意向城市「杭州」、「上海」不是江苏省的设区市，请填写城市名称或代码，如 苏州、无锡 或 3205"
    ]


def test_all_errors_of_a_row_are_reported_in_column_order() -> None:
    persons, errors = _parse(
        _row(
            7,
            姓名="",
            身份证号=ID[:-1] + ("0" if ID[-1] != "0" else "1"),
            手机号="12345",
            人员类别="贫困户",
            学历="幼儿园",
            意向城市="杭州",
            期望月薪="很多",
            是否需要住宿="也许",
            可到岗日期="明天",
            同意授权="否",
        )
    )
    assert persons == []
    assert [(error.row, error.column, error.code) for error in errors] == [
        (7, "姓名", "required"),
        (7, "身份证号", "id_number_check_digit"),
        (7, "手机号", "phone_format"),
        (7, "人员类别", "invalid_category"),
        (7, "学历", "literal_error"),
        (7, "意向城市", "invalid_city"),
        (7, "期望月薪", "invalid_number"),
        (7, "是否需要住宿", "invalid_bool"),
        (7, "可到岗日期", "invalid_date"),
        (7, "同意授权", "missing_consent"),
    ]


def test_duplicates_compare_normalised_numbers_and_name_the_first_row() -> None:
    other = id_number(456)
    rows = [
        _row(2, 身份证号=ID_X),
        _row(3, 身份证号=other),
        _row(4, 身份证号=ID_X.lower(), 姓名="王芳"),
        _row(5, 身份证号=" " + ID_X.replace("1", "１")),
        _row(6, 身份证号=ID),
    ]
    persons, errors = _parse(*rows)
    assert [number for number, _ in persons] == [2, 3, 6]
    assert errors == [
        RowError(
            row=row,
            column="身份证号",
            code="duplicate_in_file",
            message="与第 2 行的身份证号码重复，同一人只能登记一次",
        )
        for row in (4, 5)
    ]


def test_duplicate_of_a_bad_row_is_still_reported() -> None:
    persons, errors = _parse(_row(2, 同意授权="否"), _row(3))
    assert persons == []
    assert [(error.row, error.code) for error in errors] == [(2, "missing_consent"), (3, "duplicate_in_file")]


def test_good_rows_keep_their_numbers_around_bad_ones() -> None:
    rows = [_row(2), _row(3, 身份证号=id_number(7), 意向城市="北京"), _row(9, 身份证号=id_number(8))]
    persons, errors = _parse(*rows)
    assert [number for number, _ in persons] == [2, 9]
    assert [(error.row, error.code) for error in errors] == [(3, "invalid_city")]


def test_missing_columns_are_required_errors() -> None:
    persons, errors = _parse(SheetRow(2, {"姓名": "李明"}))
    assert persons == []
    assert [(error.column, error.code) for error in errors] == [
        ("身份证号", "required"),
        ("手机号", "required"),
        ("同意授权", "missing_consent"),
    ]


def test_no_error_message_repeats_an_id_number_or_a_phone() -> None:
    """Rejections are shown, stored and logged: none may carry the personal data the row held."""
    bad_id = ID[:-1] + ("0" if ID[-1] != "0" else "1")
    rows = [
        _row(2, 身份证号=bad_id, 手机号="1391234567", 意向城市=ID, 期望月薪=PHONE, 学历=ID),
        _row(3, 身份证号=ID[:17], 手机号="+86 139 1234 567", 人员类别=PHONE, 可到岗日期=ID),
        _row(4, 身份证号="6.10102199001011E+17", 意向工种=f"{ID}、{PHONE}", 是否需要住宿=PHONE, 同意授权=ID),
        _row(5, 身份证号=ID.replace("1", "１"), 意向城市=ID.replace("1", "１"), 姓名=PHONE * 5),
        _row(6, 身份证号=ID.replace("1", "１")),  # a duplicate of row 5
        _row(7, 身份证号=id_number(1, county="999999"), 手机号="139 1234 5678", 意向城市="139 1234 5678"),
        _row(8, 身份证号=id_number(1, born="19900230"), 学历=id_number(1, born="19900230")),
    ]
    persons, errors = _parse(*rows)
    assert persons == []
    assert {error.row for error in errors} == {2, 3, 4, 5, 6, 7, 8}
    secrets = {
        ID,
        ID[:17],
        bad_id,
        PHONE,
        "139 1234 5678",
        id_number(1, county="999999"),
        id_number(1, born="19900230"),
    }
    secrets |= {secret.replace("1", "１") for secret in secrets}
    for error in errors:
        assert not any(secret in error.message for secret in secrets), error
        assert re.search(r"\d{7,}", error.message) is None, error
        assert re.search(r"[\u4e00-\u9fff]", error.message), error  # and the message is Chinese


def test_caller_consent_errors_raise_once() -> None:
    with pytest.raises(ValidationError):
        parse_roster_rows([_row()], station_id=STATION, consent_at=datetime(2025, 1, 1), consent_scope=SCOPE)  # noqa: DTZ001 (the error under test)
    with pytest.raises(ValidationError):
        parse_roster_rows([_row()], station_id=STATION, consent_at=NOW, consent_scope="")


def test_columns_describe_the_template() -> None:
    assert [column.header for column in ROSTER_COLUMNS] == [
        "姓名",
        "身份证号",
        "手机号",
        "人员类别",
        "学历",
        "技能",
        "证书",
        "技能特长",
        "培训经历",
        "工作经历",
        "意向工种",
        "意向城市",
        "期望月薪",
        "是否需要住宿",
        "可到岗日期",
        "同意授权",
        "备注",
    ]
    assert REQUIRED_HEADERS == ("姓名", "身份证号", "手机号", "同意授权")
    assert all(column.description for column in ROSTER_COLUMNS)


@pytest.mark.parametrize("fmt", ["xlsx", "csv"])
def test_template_parses_back_with_a_valid_example(fmt: str) -> None:
    data = roster_template("xlsx" if fmt == "xlsx" else "csv")
    rows = read_table(data, f"花名册模板.{fmt}", required_headers=REQUIRED_HEADERS)
    assert [row.number for row in rows] == [2]
    persons, errors = _parse(*rows)
    assert errors == []
    ((number, person),) = persons
    assert number == 2
    assert (
        person.id_number == EXAMPLE_ID_NUMBER
        and parse_resident_id(EXAMPLE_ID_NUMBER).birthplace_code == "610102"
    )
    assert person.phone == "13800000000"
    assert person.categories == ["poverty_alleviated"]
    assert person.intention is not None
    assert person.intention.city_codes == ["3205", "3202"]
    assert person.intention.available_from is not None and person.intention.available_from > beijing_date()


def test_xlsx_template_keeps_personal_numbers_as_text_and_has_notes() -> None:
    workbook = load_workbook(io.BytesIO(roster_template("xlsx")))
    sheet = workbook.worksheets[0]
    headers = [cell.value for cell in next(sheet.iter_rows(max_row=1))]
    assert headers[:3] == ["姓名*", "身份证号*", "手机号*"] and "同意授权*" in headers
    assert sheet.column_dimensions["B"].number_format == "@"
    assert sheet.column_dimensions["C"].number_format == "@"
    example = [cell.value for cell in next(sheet.iter_rows(min_row=2, max_row=2))]
    assert example[1] == EXAMPLE_ID_NUMBER  # text, not a float that lost digits
    notes = [[cell.value for cell in row] for row in workbook[NOTES_SHEET_TITLE].iter_rows()]
    assert notes[0] == ["列名", "说明"]
    assert notes[2][0] == "身份证号*" and "文本格式" in str(notes[2][1])


def _export_person(**overrides: object) -> ExportPerson:
    values: dict[str, object] = {
        "name": "李明",
        "id_number_masked": mask_id_number(ID_X),
        "phone_masked": mask_phone(PHONE),
        "categories": ["poverty_alleviated", "dibao"],
        "education": "初中",
        "skills": ["电焊", "叉车驾驶"],
        "certificates": [],
        "speciality": None,
        "past_training": None,
        "work_history": [
            {
                "employer": "昆山某电子公司",
                "started": "2018-03-01",
                "ended": "2021-06-01",
                "duties": "贴片\n换料",
            },
            {"workplace_kind": "建筑工地", "started": "2021-07-01", "ended": None, "duties": "钢筋工"},
        ],
        "occupation_codes": ["6-18-02-04"],
        "city_codes": ["3205", "3202"],
        "min_salary": 5000,
        "needs_dormitory": True,
        "available_from": date(2026, 3, 1),
        "status": "employed",
        "status_since": date(2026, 4, 1),
    }
    values.update(overrides)
    return ExportPerson(**values)  # type: ignore[arg-type]


def test_export_rows_use_roster_headers_and_words() -> None:
    headers, rows = export_rows(
        [
            _export_person(),
            _export_person(
                categories=[],
                education=None,
                city_codes=[],
                min_salary=None,
                available_from=None,
                needs_dormitory=False,
                status="seeking",
            ),
        ]
    )
    assert headers == [
        "姓名",
        "身份证号",
        "手机号",
        "人员类别",
        "学历",
        "技能",
        "证书",
        "技能特长",
        "培训经历",
        "工作经历",
        "意向工种",
        "意向城市",
        "期望月薪",
        "是否需要住宿",
        "可到岗日期",
        "就业状态",
        "状态起始日期",
    ]
    assert rows[0] == [
        "李明",
        ID_X[:4] + "*" * 10 + ID_X[-4:],
        "139****5678",
        "脱贫人口、低保对象",
        "初中",
        "电焊、叉车驾驶",
        "",
        "",
        "",
        "2018.03-2021.06 昆山某电子公司 贴片 换料\n2021.07-至今 建筑工地 钢筋工",
        "焊工",  # the 大典 name of 6-18-02-04
        "苏州市、无锡市",
        5000,
        "是",
        date(2026, 3, 1),
        "已就业",
        date(2026, 4, 1),
    ]
    assert rows[1][3:5] == ["", ""] and rows[1][11:16] == ["", None, "否", None, "求职中"]
    csv_text = write_table(headers, rows, "csv").decode("utf-8-sig")
    assert ID_X not in csv_text and PHONE not in csv_text
    assert "6-18-02-04" not in csv_text  # occupations read as names


def test_exported_words_import_back() -> None:
    """Categories, occupations and cities as exported are accepted by the import."""
    _, (row, *_) = export_rows([_export_person()])
    person = _one(人员类别=str(row[3]), 工作经历=str(row[9]), 意向工种=str(row[10]), 意向城市=str(row[11]))
    assert person.categories == ["poverty_alleviated", "dibao"]
    assert person.intention is not None
    assert (person.intention.occupation_codes, person.intention.city_codes) == (
        ["6-18-02-04"],
        ["3205", "3202"],
    )
    assert person.work_history is not None
    assert [(spell.started, spell.ended) for spell in person.work_history] == [
        (date(2018, 3, 1), date(2021, 6, 1)),
        (date(2021, 7, 1), None),
    ]


@pytest.mark.parametrize(
    ("text", "spans"),
    [
        (
            "2015-2017 饭店帮厨\n负责切配\n2018 - 2020年 保安",
            [(date(2015, 1, 1), date(2017, 12, 1)), (date(2018, 1, 1), date(2020, 12, 1))],
        ),
        (
            "2019年3月—2020年1月，电子厂；2020.2-至今 快递分拣",
            [(date(2019, 3, 1), date(2020, 1, 1)), (date(2020, 2, 1), None)],
        ),
        ("在家务农，会开拖拉机；农闲时在县城工地打零工", [(None, None)]),  # no dates: one spell, nothing lost
        ("2020.1-2020.12 1998 人的大厂", [(date(2020, 1, 1), date(2020, 12, 1))]),  # a number after is words
    ],
)
def test_work_history_cell_is_read_into_spells(
    text: str, spans: list[tuple[date | None, date | None]]
) -> None:
    history = _one(工作经历=text).work_history
    assert history is not None
    assert [(spell.started, spell.ended) for spell in history] == spans
    words = re.compile(r"[^\u4e00-\u9fff]|[年月至今]")  # the words typed, without the dates
    assert words.sub("", "".join(spell.duties for spell in history)) == words.sub("", text)


def test_work_history_that_cannot_be_right_is_reported_on_its_column() -> None:
    assert _errors(工作经历="2021年7月-2019年1月 工地") == [("工作经历", "value_error")]
    assert set(_errors(工作经历="2099.01-2099.12 未来")) == {("工作经历", "value_error")}
    many = "；".join(f"{2000 + i}.01-{2000 + i}.12 工地" for i in range(21))
    assert _errors(工作经历=many) == [("工作经历", "too_many_spells")]
    assert _errors(工作经历="2020.01-2020.12 " + "搬" * 2001) == [("工作经历", "string_too_long")]
    long_history = "\n".join(f"{2000 + i}.01-{2000 + i}.12 " + "电子厂流水线装配，" * 150 for i in range(20))
    assert len(_one(工作经历=long_history).work_history or []) == 20  # 20 spells of 1,350 characters each


def _roster_file(tmp_path: Path, rows: int) -> Path:
    headers = [column.header for column in ROSTER_COLUMNS]
    body: list[list[object]] = []
    for serial in range(rows):
        values = {
            "姓名": "张三",
            "身份证号": id_number(serial),
            "手机号": f"+86139{serial:08d}",
            "同意授权": "是",
        }
        body.append([values.get(header, "") for header in headers])
    body.insert(2, [""] * len(headers))  # an empty row keeps its place in the numbering
    path = tmp_path / "花名册.xlsx"
    path.write_bytes(write_table(headers, body, "xlsx", text_headers=("身份证号", "手机号")))
    return path


async def test_upload_sends_chunks_and_maps_rows_back(tmp_path: Path) -> None:
    path = _roster_file(tmp_path, 5)  # data rows 2, 3, 5, 6, 7
    requests: list[httpx.Request] = []

    def server(request: httpx.Request) -> httpx.Response:
        requests.append(request)
        chunk = request.read().split(b"text/csv\r\n\r\n", 1)[1].split(b"\r\n--", 1)[0]
        rows = read_table(chunk, "chunk.csv", required_headers=REQUIRED_HEADERS)
        persons, _ = _parse(*rows)  # the chunk CSV reads back as the original rows
        assert len(persons) == len(rows)
        rejected = [
            {"row": 3, "column": "身份证号", "code": "duplicate_existing", "message": "该身份证号码已登记"}
        ]
        body = {"list_id": f"list-{len(requests)}", "accepted": len(rows) - 1, "rejected": rejected}
        return httpx.Response(201, json=body)

    progress: list[tuple[int, int]] = []
    summary = await upload_roster(
        path,
        station_id=STATION,
        base_url="http://platform.test/",
        token="secret-token",
        chunk_rows=2,
        progress=lambda done, total: progress.append((done, total)),
        transport=httpx.MockTransport(server),
    )
    assert progress == [(2, 5), (4, 5), (5, 5)]
    assert (summary.total_rows, summary.accepted, summary.list_ids) == (5, 2, ["list-1", "list-2", "list-3"])
    assert [rejection.row for rejection in summary.rejected[:2]] == [3, 6]
    keys = [request.headers["Idempotency-Key"] for request in requests]
    digest = keys[0].rsplit("-", 1)[0]
    assert keys == [f"{digest}-0", f"{digest}-1", f"{digest}-2"] and len(digest) == 64
    assert all(request.headers["Authorization"] == "Bearer secret-token" for request in requests)
    assert all(request.url.path == "/v1/demand-lists/imports" for request in requests)
    assert all(b'name="station_id"\r\n\r\nstation-1' in request.read() for request in requests)


async def test_upload_refusal_raises_with_the_problem_detail(tmp_path: Path) -> None:
    problem = {"title": "无权执行此操作", "status": 403, "detail": "不能向其他联络站导入"}

    def server(request: httpx.Request) -> httpx.Response:
        return httpx.Response(
            403, content=json.dumps(problem), headers={"content-type": "application/problem+json"}
        )

    with pytest.raises(UploadError, match="不能向其他联络站导入") as raised:
        await upload_roster(
            _roster_file(tmp_path, 3),
            station_id=STATION,
            base_url="http://platform.test",
            token="t",
            progress=lambda done, total: None,
            transport=httpx.MockTransport(server),
        )
    assert raised.value.status == 403
