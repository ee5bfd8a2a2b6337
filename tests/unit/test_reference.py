"""Reference tables: regions, minimum wage, occupations."""

from datetime import date

import pytest

from libs.reference.minimum_wage import MinimumWage, minimum_monthly_wage
from libs.reference.occupations import (
    _ALIASES,
    INDUSTRIES,
    OCCUPATIONS,
    is_occupation_code,
    occupation,
    occupation_code_by_name,
)
from libs.reference.regions import (
    JIANGSU_CITIES,
    PROVINCE_SHORT_NAMES,
    PROVINCES,
    is_province_code,
    jiangsu_city_code,
)

# --- regions --------------------------------------------------------------------------------------------------


def test_thirteen_jiangsu_cities_with_consecutive_codes() -> None:
    assert list(JIANGSU_CITIES) == [f"32{n:02d}" for n in range(1, 14)]
    assert JIANGSU_CITIES["3201"] == "南京市"
    assert JIANGSU_CITIES["3205"] == "苏州市"
    assert JIANGSU_CITIES["3213"] == "宿迁市"


def test_thirty_four_province_level_divisions() -> None:
    assert len(PROVINCES) == 34
    assert PROVINCES["11"] == "北京市"
    assert PROVINCES["32"] == "江苏省"
    assert PROVINCES["65"] == "新疆维吾尔自治区"
    assert {"71", "81", "82"} <= PROVINCES.keys()
    assert all(len(code) == 2 and code.isdigit() for code in PROVINCES)


@pytest.mark.parametrize(
    ("code", "short"),
    [
        ("41", "河南"),
        ("45", "广西"),
        ("54", "西藏"),
        ("64", "宁夏"),
        ("65", "新疆"),
        ("15", "内蒙古"),
        ("81", "香港"),
    ],
)
def test_province_short_names(code: str, short: str) -> None:
    assert PROVINCE_SHORT_NAMES[code] == short


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("3205", "3205"),
        ("苏州", "3205"),
        ("苏州市", "3205"),
        ("  苏州市 ", "3205"),
        ("苏 州", "3205"),
        ("江苏省苏州市", "3205"),
        ("连云港", "3207"),
        ("连云港市", "3207"),
        ("320500", "3205"),
        ("３２１３", "3213"),
        ("宿迁", "3213"),
    ],
)
def test_jiangsu_city_code_resolves(value: str, expected: str) -> None:
    assert jiangsu_city_code(value) == expected


@pytest.mark.parametrize(
    "value", ["", "3214", "3200", "4101", "320505", "杭州", "杭州市", "江苏", "苏", "32"]
)
def test_jiangsu_city_code_rejects(value: str) -> None:
    assert jiangsu_city_code(value) is None


def test_is_province_code() -> None:
    assert is_province_code("61")
    assert is_province_code("82")
    assert not is_province_code("60")
    assert not is_province_code("6")
    assert not is_province_code("610000")


# --- minimum wage ---------------------------------------------------------------------------------------------

AUG_2021 = date(2021, 8, 1)


def test_every_city_has_a_2021_standard() -> None:
    for code in JIANGSU_CITIES:
        wage = minimum_monthly_wage(code, date(2024, 1, 1))
        assert wage is not None
        assert wage.effective_from == AUG_2021
        assert wage.monthly_yuan in {2280, 2070, 1840}
        assert "苏人社发〔2021〕72号" in wage.source


def test_lowest_tier_per_city() -> None:
    assert minimum_monthly_wage("3205", AUG_2021) == MinimumWage(
        city_code="3205",
        monthly_yuan=2280,
        effective_from=AUG_2021,
        source="江苏省人力资源和社会保障厅关于调整全省最低工资标准的通知（苏人社发〔2021〕72号）",
    )
    by_city = {code: minimum_monthly_wage(code, AUG_2021) for code in JIANGSU_CITIES}
    yuan = {code: wage.monthly_yuan for code, wage in by_city.items() if wage is not None}
    assert yuan["3206"] == 2070  # 海安、如皋、如东 are 二类
    assert yuan["3213"] == 1840
    assert yuan["3203"] == 1840


def test_no_standard_before_the_table_or_for_unknown_city() -> None:
    assert minimum_monthly_wage("3205", date(2021, 7, 31)) is None
    assert minimum_monthly_wage("4101", AUG_2021) is None
    assert minimum_monthly_wage("", AUG_2021) is None


def test_standard_stays_in_force_until_replaced() -> None:
    assert minimum_monthly_wage("3205", date(2030, 1, 1)) == minimum_monthly_wage("3205", AUG_2021)


# --- occupations ----------------------------------------------------------------------------------------------


def test_table_size_and_code_layout() -> None:
    assert 30 <= len(OCCUPATIONS) <= 50
    for code, occ in OCCUPATIONS.items():
        assert occ.code == code
        assert is_occupation_code(code)
        assert occ.industry in INDUSTRIES


def test_policy_industries_are_covered() -> None:
    for key, name in {
        "manufacturing": "制造业",
        "construction": "建筑业",
        "housekeeping": "家政服务",
        "logistics": "快递物流",
        "security": "保安服务",
        "catering": "餐饮服务",
    }.items():
        assert INDUSTRIES[key] == name
        assert any(occ.industry == key for occ in OCCUPATIONS.values())


def test_names_are_unique() -> None:
    names = [occ.name for occ in OCCUPATIONS.values()]
    assert len(names) == len(set(names))


def test_aliases_point_at_known_codes() -> None:
    assert all(code in OCCUPATIONS for code in _ALIASES.values())


def test_occupation_lookup() -> None:
    welder = occupation("6-18-02-04")
    assert welder is not None
    assert welder.name == "焊工"
    assert welder.industry == "manufacturing"
    assert occupation("9-99-99-99") is None


@pytest.mark.parametrize("code", ["6-18-02-04", "4-02-07-08", "4-07-05-01", "4-10-01-06"])
def test_known_codes(code: str) -> None:
    assert is_occupation_code(code)


@pytest.mark.parametrize(
    "code", ["", "6-18-02", "6180204", "6-18-2-04", "x-18-02-04", "6-99-99-99", " 6-18-02-04"]
)
def test_unknown_or_malformed_codes(code: str) -> None:
    assert not is_occupation_code(code)


@pytest.mark.parametrize(
    ("name", "code"),
    [
        ("焊工", "6-18-02-04"),
        ("电焊工", "6-18-02-04"),
        ("快递员", "4-02-07-08"),
        ("快件处理员", "4-02-07-09"),
        (" 保安员 ", "4-07-05-01"),
        ("保安", "4-07-05-01"),
        ("货车司机", "4-02-02-02"),
        ("仓库管理员", "4-02-06-01"),
        ("建筑杂工", "6-29-01-99"),
        ("家政服务员", "4-10-01-06"),
        ("养老护理员", "4-10-01-05"),
        ("中式烹调师", "4-03-02-01"),
        ("电子产品装配工", "6-25-04-07"),
    ],
)
def test_occupation_code_by_name(name: str, code: str) -> None:
    assert occupation_code_by_name(name) == code


def test_occupation_code_by_unknown_name() -> None:
    assert occupation_code_by_name("宇航员") is None
    assert occupation_code_by_name("") is None


def test_education_levels_follow_one_table() -> None:
    """The schemas' literals and the GB/T 4658-2006 table say the same levels, in rank order."""
    from libs.reference import education

    assert tuple(level.name for level in education.LEVELS) == education.PERSON_LEVELS
    assert ("不限", *education.PERSON_LEVELS[1:]) == education.JOB_MINIMUMS
    ranks = [level.rank for level in education.LEVELS]
    assert ranks == sorted(ranks)
    assert all(
        alias not in education.BY_NAME and name in education.BY_NAME
        for alias, name in education.ALIASES.items()
    )
