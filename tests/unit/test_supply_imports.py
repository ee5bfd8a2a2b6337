"""岗位供给清单 rows -> JobCreate or row errors, as employers actually fill the sheet."""

from __future__ import annotations

import io
from datetime import timedelta

import pytest
from openpyxl import load_workbook

from libs.db import beijing_date
from libs.spreadsheet_cells import RowError
from libs.spreadsheets import NOTES_SHEET_TITLE, SheetRow, read_table
from services.supply.imports import REQUIRED_HEADERS, SUPPLY_COLUMNS, parse_supply_rows, supply_template
from services.supply.schemas import BenefitsIn as Benefits
from services.supply.schemas import JobCreate

EMPLOYER = "employer-1"
SOON = beijing_date() + timedelta(days=30)


def _row(number: int = 2, /, **cells: str) -> SheetRow:
    values = {
        "岗位名称": "电子产品装配工",
        "工作城市": "苏州",
        "招聘人数": "50",
        "月薪下限": "5500",
        "月薪上限": "7500",
    }
    values.update(cells)
    return SheetRow(number=number, values=values)


def _one_job(**cells: str) -> JobCreate:
    jobs, errors = parse_supply_rows([_row(**cells)], EMPLOYER)
    assert errors == []
    assert len(jobs) == 1
    return jobs[0][1]


def _errors(**cells: str) -> list[tuple[str, str]]:
    jobs, errors = parse_supply_rows([_row(**cells)], EMPLOYER)
    assert jobs == []
    assert all(error.row == 2 for error in errors)
    return [(error.column, error.code) for error in errors]


def test_full_row_maps_every_column() -> None:
    job = _one_job(
        岗位描述="流水线插件焊接",
        工种="电子产品装配工",
        行业="制造业",
        年龄要求="18-45",
        学历要求="初中及以上",
        技能要求="电子元器件识别、焊接,质检，焊接；看图",
        证书要求="无",
        包住="是",
        包吃="否",
        五险="是",
        班制="两班倒",
        有效期至=SOON.isoformat(),
    )
    assert job == JobCreate(
        employer_id=EMPLOYER,
        title="电子产品装配工",
        description="流水线插件焊接",
        occupation_code="6-25-04-07",
        industry="manufacturing",
        city_code="3205",
        headcount=50,
        salary_min=5500,
        salary_max=7500,
        age_min=18,
        age_max=45,
        education_min="初中",
        skills=["电子元器件识别", "焊接", "质检", "看图"],
        benefits=Benefits(dormitory=True, meals=False, social_insurance=True),
        shift="两班倒",
        valid_until=SOON,
    )


def test_minimal_row_leaves_optional_fields_unset() -> None:
    job = _one_job()
    assert job.occupation_code is None
    assert job.age_min is None and job.age_max is None
    assert job.skills is None and job.certificates_required is None
    assert job.benefits == Benefits()


@pytest.mark.parametrize("city", ["苏州", "苏州市", "3205", "江苏省苏州市", "320500"])
def test_city_by_name_or_code(city: str) -> None:
    assert _one_job(工作城市=city).city_code == "3205"


@pytest.mark.parametrize(
    "text", ["5500", "5,500", "5，500元", "5500元/月", "５５００", "0.55万", "5.5k", "5500.0"]
)
def test_salary_as_people_write_it(text: str) -> None:
    assert _one_job(月薪下限=text).salary_min == 5500


def test_headcount_with_unit() -> None:
    assert _one_job(招聘人数="30人").headcount == 30


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("18-45", (18, 45)),
        ("18至45", (18, 45)),
        ("18到45岁", (18, 45)),
        ("18岁—45岁", (18, 45)),
        ("18～45周岁", (18, 45)),
        ("45岁以下", (None, 45)),
        ("45周岁及以下", (None, 45)),
        ("18岁以上", (18, None)),
        ("不限", (None, None)),
    ],
)
def test_age_requirement_forms(text: str, expected: tuple[int | None, int | None]) -> None:
    job = _one_job(年龄要求=text)
    assert (job.age_min, job.age_max) == expected


@pytest.mark.parametrize(
    "text",
    [
        SOON.isoformat(),
        f"{SOON.year}/{SOON.month}/{SOON.day}",
        f"{SOON.year}年{SOON.month}月{SOON.day}日",
        SOON.strftime("%Y%m%d"),
    ],
)
def test_valid_until_forms(text: str) -> None:
    assert _one_job(有效期至=text).valid_until == SOON


def test_valid_until_long_term_means_no_end() -> None:
    assert _one_job(有效期至="长期").valid_until is None


@pytest.mark.parametrize(("text", "key"), [("manufacturing", "manufacturing"), ("制造业", "manufacturing"),
                                           ("物流", "logistics"), ("家政服务", "housekeeping")])  # fmt: skip
def test_industry_by_key_or_chinese_name(text: str, key: str) -> None:
    assert _one_job(行业=text).industry == key


@pytest.mark.parametrize("text", ["6-25-04-07", "电子设备装接工", "电子装配工"])
def test_occupation_by_code_or_name(text: str) -> None:
    assert _one_job(工种=text).occupation_code == "6-25-04-07"


@pytest.mark.parametrize(
    ("text", "value"), [("是", True), ("否", False), ("Y", True), ("无", False), ("", False)]
)
def test_yes_no(text: str, value: bool) -> None:
    assert _one_job(包住=text).benefits == Benefits(dormitory=value)


@pytest.mark.parametrize(
    ("cells", "column", "code"),
    [
        ({"岗位名称": ""}, "岗位名称", "required"),
        ({"工作城市": " "}, "工作城市", "required"),
        ({"招聘人数": "五十"}, "招聘人数", "invalid_number"),
        ({"月薪下限": "5500.5"}, "月薪下限", "invalid_number"),
        ({"月薪上限": "面议"}, "月薪上限", "invalid_number"),
        ({"有效期至": "2025-02-30"}, "有效期至", "invalid_date"),
        ({"有效期至": "明年"}, "有效期至", "invalid_date"),
        ({"工作城市": "杭州"}, "工作城市", "invalid_city"),
        ({"工种": "宇航员"}, "工种", "invalid_occupation"),
        ({"工种": "9-99-99-99"}, "工种", "invalid_occupation"),
        ({"行业": "金融业"}, "行业", "invalid_industry"),
        ({"包吃": "看情况"}, "包吃", "invalid_bool"),
        ({"年龄要求": "45-18"}, "年龄要求", "invalid_age_range"),
        ({"年龄要求": "年轻力壮"}, "年龄要求", "invalid_age_range"),
        # Checks left to the schema come back under its error type, against the column.
        ({"岗位名称": "工"}, "岗位名称", "string_too_short"),
        ({"招聘人数": "0"}, "招聘人数", "greater_than_equal"),
        ({"年龄要求": "14-45"}, "年龄要求", "greater_than_equal"),
        ({"月薪上限": "5000"}, "月薪上限", "value_error"),
        ({"学历要求": "幼儿园"}, "学历要求", "literal_error"),
        ({"技能要求": "焊接、" + "很" * 31}, "技能要求", "string_too_long"),
        ({"有效期至": "2020-01-01"}, "有效期至", "value_error"),
    ],
)
def test_error_codes(cells: dict[str, str], column: str, code: str) -> None:
    assert _errors(**cells) == [(column, code)]


def test_error_messages_are_chinese_and_name_columns() -> None:
    _, errors = parse_supply_rows(
        [_row(月薪上限="5000", 招聘人数="0", 学历要求="幼儿园", 技能要求="焊接、" + "很" * 31)], EMPLOYER
    )
    messages = {error.column: error.message for error in errors}
    assert messages == {
        "招聘人数": "招聘人数不能小于 1",
        "月薪上限": "月薪上限不能小于月薪下限",
        "学历要求": "学历要求须为以下之一：不限、小学、初中、高中、中专、技校、大专、本科、硕士、博士，当前为「幼儿园」",
        "技能要求": "技能要求第 2 项最多 30 个字",
    }


def test_all_errors_of_a_row_are_reported_in_column_order() -> None:
    jobs, errors = parse_supply_rows(
        [
            _row(
                7,
                岗位名称="",
                工作城市="杭州",
                招聘人数="很多",
                年龄要求="70-16",
                包住="也许",
                学历要求="幼儿园",
            )
        ],
        EMPLOYER,
    )
    assert jobs == []
    assert [(error.row, error.column, error.code) for error in errors] == [
        (7, "岗位名称", "required"),
        (7, "工作城市", "invalid_city"),
        (7, "招聘人数", "invalid_number"),
        (7, "年龄要求", "invalid_age_range"),
        (7, "学历要求", "literal_error"),
        (7, "包住", "invalid_bool"),
    ]


def test_duplicates_compare_parsed_values() -> None:
    rows = [
        _row(2),
        _row(3, 月薪上限="8000"),
        _row(4, 工作城市="3205", 月薪下限="5,500", 招聘人数="10"),
        _row(5, 工作城市="无锡"),
    ]
    jobs, errors = parse_supply_rows(rows, EMPLOYER)
    assert [number for number, _ in jobs] == [2, 3, 5]
    assert errors == [
        RowError(
            row=4,
            column="岗位名称",
            code="duplicate_in_file",
            message="与第 2 行重复（岗位名称、工作城市、月薪下限、月薪上限均相同）",
        )
    ]


def test_duplicate_of_a_bad_row_is_still_reported() -> None:
    jobs, errors = parse_supply_rows([_row(2, 包住="也许"), _row(3)], EMPLOYER)
    assert jobs == []
    assert [(error.row, error.code) for error in errors] == [(2, "invalid_bool"), (3, "duplicate_in_file")]


def test_good_rows_keep_their_numbers_around_bad_ones() -> None:
    rows = [_row(2), _row(3, 工作城市="北京"), _row(9, 岗位名称="焊工")]
    jobs, errors = parse_supply_rows(rows, EMPLOYER)
    assert [(number, job.title) for number, job in jobs] == [(2, "电子产品装配工"), (9, "焊工")]
    assert [(error.row, error.code) for error in errors] == [(3, "invalid_city")]


def test_missing_optional_and_required_columns() -> None:
    jobs, errors = parse_supply_rows([SheetRow(2, {"岗位名称": "焊工"})], EMPLOYER)
    assert jobs == []
    assert [error.column for error in errors] == ["工作城市", "招聘人数", "月薪下限", "月薪上限"]
    assert {error.code for error in errors} == {"required"}


def test_columns_describe_the_template() -> None:
    headers = [column.header for column in SUPPLY_COLUMNS]
    assert headers[:8] == [
        "岗位名称",
        "岗位描述",
        "工种",
        "行业",
        "工作城市",
        "招聘人数",
        "月薪下限",
        "月薪上限",
    ]
    assert REQUIRED_HEADERS == ("岗位名称", "工作城市", "招聘人数", "月薪下限", "月薪上限")
    assert all(column.description for column in SUPPLY_COLUMNS)


@pytest.mark.parametrize("fmt", ["xlsx", "csv"])
def test_template_parses_back_with_a_valid_example(fmt: str) -> None:
    data = supply_template("xlsx" if fmt == "xlsx" else "csv")
    rows = read_table(data, f"岗位供给清单模板.{fmt}", required_headers=REQUIRED_HEADERS)
    assert [row.number for row in rows] == [2]
    jobs, errors = parse_supply_rows(rows, EMPLOYER)
    assert errors == []
    (number, job), *_ = jobs
    assert number == 2
    assert (job.title, job.city_code, job.occupation_code, job.industry) == (
        "电子产品装配工",
        "3205",
        "6-25-04-07",
        "manufacturing",
    )
    assert job.valid_until is not None and job.valid_until > beijing_date()


def test_xlsx_template_marks_required_columns_and_has_notes() -> None:
    workbook = load_workbook(io.BytesIO(supply_template("xlsx")))
    sheet = workbook.worksheets[0]
    headers = [cell.value for cell in next(sheet.iter_rows(max_row=1))]
    assert headers[0] == "岗位名称*"
    assert "岗位描述" in headers and "工作城市*" in headers
    assert sheet.column_dimensions["I"].number_format == "@"  # 年龄要求: "10-12" must not become a date
    notes = [[cell.value for cell in row] for row in workbook[NOTES_SHEET_TITLE].iter_rows()]
    assert notes[0] == ["列名", "说明"]
    assert notes[1][0] == "岗位名称*" and str(notes[1][1]).startswith("必填")


@pytest.mark.parametrize(
    ("text", "level"),
    [
        ("博士", "博士"),
        ("博士及以上", "博士"),
        ("博士后", "博士"),
        ("硕士研究生以上", "硕士"),
        ("不限", "不限"),
    ],
)
def test_education_up_to_doctorate(text: str, level: str) -> None:
    assert _one_job(学历要求=text).education_min == level
