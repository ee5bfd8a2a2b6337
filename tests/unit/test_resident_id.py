"""Resident ID numbers against the dated division table: real people born before their county existed pass.

The address code is where the number was first issued, often years after birth, so the rule is "the code was
in force in some year from the birth year on"; codes that never existed, or were abolished before the birth
year, are still refused. Property tests run over the whole table, not a few hand-picked codes.
"""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from stdnum.cn import ric

from libs.db import beijing_date
from libs.pii import PiiError, address_code_plausible, parse_resident_id
from libs.reference import divisions
from libs.reference.divisions import Division

THIS_YEAR = beijing_date().year


def number(code: str, born: date, serial: int = 123) -> str:
    body = f"{code}{born:%Y%m%d}{serial % 1000:03d}"
    return body + ric.calc_check_digit(body + "0")


def _rows() -> list[Division]:
    return [row for rows in divisions._table().values() for row in rows if row.level != "province"]


ROWS = _rows()
# Codes whose (every) name was abolished: the last year any of their names was in force.
LAST_YEAR = {
    code: max(row.valid_to for row in rows if row.valid_to is not None)
    for code, rows in divisions._table().items()
    if rows[0].level != "province" and all(row.valid_to is not None for row in rows)
}
KNOWN_CODES = frozenset(divisions._table())


@st.composite
def birth_dates(draw: st.DrawFn, first: int, last: int) -> date:
    year = draw(st.integers(min_value=first, max_value=last))
    return draw(st.dates(min_value=date(year, 1, 1), max_value=min(date(year, 12, 31), beijing_date())))


@given(row=st.sampled_from(ROWS), data=st.data())
@settings(max_examples=400, deadline=None)
def test_a_code_in_force_at_some_time_since_birth_is_accepted(row: Division, data: st.DataObject) -> None:
    """Born any year up to the end of one of the code's names (or up to now for a current one): accepted,
    including births long before the code was created."""
    last = row.valid_to if row.valid_to is not None else THIS_YEAR
    born = data.draw(birth_dates(1930, min(last, THIS_YEAR)))
    parsed = parse_resident_id(number(row.code, born))
    assert parsed.birthplace_code == row.code and parsed.birth_date == born


@given(code=st.sampled_from(sorted(LAST_YEAR)), data=st.data())
@settings(max_examples=300, deadline=None)
def test_a_code_abolished_before_the_birth_year_is_refused(code: str, data: st.DataObject) -> None:
    if LAST_YEAR[code] >= THIS_YEAR:
        return
    born = data.draw(birth_dates(LAST_YEAR[code] + 1, THIS_YEAR))
    with pytest.raises(PiiError) as refused:
        parse_resident_id(number(code, born))
    assert refused.value.code == "unknown_county"


@given(
    code=st.from_regex(r"\A[1-8][0-9]{5}\Z").filter(lambda code: code not in KNOWN_CODES),
    born=st.dates(min_value=date(1930, 1, 1), max_value=date(2010, 12, 31)),
)
@settings(max_examples=300, deadline=None)
def test_a_code_that_never_existed_is_refused(code: str, born: date) -> None:
    with pytest.raises(PiiError) as refused:
        parse_resident_id(number(code, born))
    assert refused.value.code == "unknown_county"


@given(
    province=st.sampled_from(
        sorted(c for c, rows in divisions._table().items() if rows[0].level == "province")
    )
)
def test_a_province_alone_is_no_address_code(province: str) -> None:
    assert not address_code_plausible(province, 1990)


@pytest.mark.parametrize("code", ["610502", "320581"])
@pytest.mark.parametrize("year", range(1985, 1995))
def test_the_field_roster_that_was_refused(code: str, year: int) -> None:
    """610502 临渭区 (from 1995) and 320581 常熟市 (from 1983, renumbered codes nearby): born 1985-1994."""
    parse_resident_id(number(code, date(year, 6, 15)))


def test_workers_born_1960_to_2005_in_counties_created_meanwhile() -> None:
    """Every county created between 1960 and 2005 and still in force, with a worker born in each year from
    1960 to 2005: nothing refused."""
    created = sorted(
        {
            row.code
            for row in ROWS
            if row.level == "county" and row.current and row.valid_from and 1960 <= row.valid_from <= 2005
        }
    )
    assert len(created) > 500
    refused = []
    for index, code in enumerate(created):
        for year in range(1960, 2006, 5):
            try:
                parse_resident_id(number(code, date(year + index % 5, 3, 1), serial=index))
            except PiiError as error:
                refused.append((code, year, error.code))
    assert refused == []


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("61010219900101123", "id_number_length"),
        ("6101021990010112345", "id_number_length"),
        ("61010219900101123A", "id_number_format"),
    ],
)
def test_shape_errors_keep_their_codes(text: str, code: str) -> None:
    with pytest.raises(PiiError) as refused:
        parse_resident_id(text)
    assert refused.value.code == code


def test_check_digit_and_dates() -> None:
    good = number("610102", date(1990, 1, 1))
    wrong = good[:-1] + ("0" if good[-1] != "0" else "1")
    with pytest.raises(PiiError, match="校验位") as refused:
        parse_resident_id(wrong)
    assert refused.value.code == "id_number_check_digit"
    body = "61010219900231123"
    with pytest.raises(PiiError) as refused:
        parse_resident_id(body + ric.calc_check_digit(body + "0"))
    assert refused.value.code == "id_number_birth_date"
    future = number("610102", date(THIS_YEAR + 1, 1, 1))
    with pytest.raises(PiiError) as refused:
        parse_resident_id(future)
    assert refused.value.code == "id_number_birth_date"
    assert parse_resident_id(good.lower()).number == good.upper()
    # Full-width digits, as some office software types them, read as the same number.
    full_width = "".join(chr(ord(char) + 0xFEE0) for char in good)
    assert parse_resident_id(full_width).number == good
