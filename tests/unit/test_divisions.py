"""The project's GB/T 2260 table: lookups, current-ness, containment, and the table's own consistency."""

from __future__ import annotations

import csv
import io
from importlib import resources
from importlib.metadata import version

import pytest

from libs.reference import divisions
from libs.reference.build_divisions import COLUMNS, parse
from libs.reference.divisions import (
    county_in,
    county_name,
    division,
    history,
    is_current_county,
    is_current_prefecture,
)
from libs.reference.regions import JIANGSU_CITIES, PROVINCES


def test_a_district_of_xian() -> None:
    found = division("610102")
    assert found is not None
    assert (found.name, found.province_code, found.prefecture_code, found.level) == (
        "新城区",
        "61",
        "6101",
        "county",
    )
    assert found.current and found.valid_from == 1983
    assert is_current_county("610102")
    assert county_in("610102", "61", "6101")
    assert county_name("610102") == "新城区"


def test_province_and_prefecture_by_short_code() -> None:
    province, prefecture = division("61"), division("6101")
    assert province is not None and (province.name, province.level) == ("陕西省", "province")
    assert prefecture is not None and (prefecture.name, prefecture.level) == ("西安市", "prefecture")
    assert division("320500") == division("3205")


def test_suzhou_is_a_prefecture_not_a_county() -> None:
    found = division("320500")
    assert found is not None and found.level == "prefecture" and found.name == "苏州市"
    assert is_current_prefecture("3205")
    assert not is_current_county("320500")
    assert county_name("320500") is None


def test_a_district_abolished_in_2010_is_not_current() -> None:
    found = division("110103")
    assert found is not None and found.name == "崇文区" and found.valid_to == 2010
    assert not found.current
    assert not is_current_county("110103")
    assert not county_in("110103", "11")
    assert county_name("110103") == "崇文区"  # the last name, for old records


def test_a_code_renamed_in_place_keeps_its_history() -> None:
    names = [(row.name, row.valid_from, row.valid_to) for row in history("610202")]
    assert names == [("城区", 1983, 1999), ("王益区", 2000, None)]
    assert county_name("610202") == "王益区"
    assert is_current_county("610202")


def test_recent_changes_are_in_the_table() -> None:
    assert is_current_county("540481")  # 米林市, a county until 2023
    assert not is_current_county("540422")
    assert is_current_county("653229")  # 和安县, 2024


@pytest.mark.parametrize(
    ("county", "province", "prefecture", "inside"),
    [
        ("610102", "61", None, True),
        ("610102", "61", "6101", True),
        ("610102", "61", "6102", False),  # in 西安, not 铜川
        ("610102", "52", None, False),
        ("520102", "52", "5201", True),  # 贵阳市南明区
        ("522301", "52", "5223", True),  # 兴义市, 黔西南州
        ("500101", "50", "5001", True),  # 重庆市万州区, under the municipality's 市辖区 code
        ("429004", "42", "4290", True),  # 仙桃市, directly under Hubei
        ("610101", "61", "6101", False),  # 市辖区: a grouping, not a county
    ],
)
def test_county_in(county: str, province: str, prefecture: str | None, inside: bool) -> None:
    assert county_in(county, province, prefecture) is inside


@pytest.mark.parametrize(
    "code", ["", "6", "610", "61010", "6101020", "61010x", "６１０１０２", "610100", "999999"]
)
def test_malformed_or_unknown_codes(code: str) -> None:
    assert not is_current_county(code)
    assert county_name(code) is None


@pytest.mark.parametrize("code", ["", "61", "610", "6100", "610100", "9999", "3214", "６１０１"])
def test_not_a_current_prefecture(code: str) -> None:
    assert not is_current_prefecture(code)


def test_every_jiangsu_city_is_a_current_prefecture() -> None:
    for code, name in JIANGSU_CITIES.items():
        assert is_current_prefecture(code), code
        found = division(code)
        assert found is not None and found.name == name


def test_provinces_agree_with_regions() -> None:
    current = {row.province_code for row in _rows() if row.level == "province" and row.current}
    assert current == set(PROVINCES)


def test_every_current_county_sits_in_a_current_prefecture() -> None:
    for row in _rows():
        if row.level == "county" and row.current:
            assert row.prefecture_code is not None and is_current_prefecture(row.prefecture_code), row


def test_about_as_many_counties_as_the_ministry_counts() -> None:
    """MCA counts about 2,840 county-level units (2024): a parse that lost or doubled rows would show here."""
    counties = {row.code for row in _rows() if is_current_county(row.code)}
    assert 2800 <= len(counties) <= 2900


def test_at_most_one_current_name_per_code() -> None:
    for code, rows in divisions._table().items():
        assert sum(row.current for row in rows) <= 1, code


def test_committed_csv_is_what_the_builder_makes() -> None:
    """The CSV is committed data; this catches hand edits and a builder that no longer matches it."""
    source = resources.files("stdnum.cn").joinpath("loc.dat").read_text(encoding="utf-8")
    built = [list(row.cells()) for row in parse(source)]
    committed = resources.files("libs.reference").joinpath("divisions.csv").read_text(encoding="utf-8")
    table = list(csv.reader(io.StringIO(committed)))
    assert table[0] == list(COLUMNS)
    if version("python-stdnum") != divisions.SOURCE_VERSION:
        pytest.skip(
            f"python-stdnum {version('python-stdnum')} installed; the CSV is from {divisions.SOURCE_VERSION}"
        )
    assert table[1:] == built


def _rows() -> list[divisions.Division]:
    return [row for rows in divisions._table().values() for row in rows]
