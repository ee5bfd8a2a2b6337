"""GB/T 2260 administrative divisions (行政区划代码), every level and every name a code has carried, dated.

Stations sit in counties, and a county code that no longer exists, or lies in another province, makes every
later report wrong; registry packages with this table are stale (FIELD-NOTES), so the project owns one.

Source: divisions.csv, generated on 2026-11-28 from python-stdnum 2.2's `stdnum/cn/loc.dat` by
`build_divisions.py` (run by hand: `.venv/bin/python -m libs.reference.build_divisions`, then review the
diff and update this paragraph). loc.dat is compiled from the zh.wikipedia lists 中华人民共和国行政区划代码
(1区 to 8区), which follow the Ministry of Civil Affairs' GB/T 2260 releases from 1980 on; its newest change
is from 2025 (500157 两江新区). "Current" below means "in force in that table", nothing later.

Columns: code (6 digits), name, province_code (2), prefecture_code (4; empty for a province), level
(province | prefecture | county, from the code's trailing zeros), valid_from and valid_to (years, empty when
open). One row per name a code carried, so a code renamed in place has several rows (610202: 城区 to 1999,
王益区 from 2000). Placeholder groupings stay in the table because ID numbers and older data use them:
"市辖区" (a city's urban districts as one code, e.g. 610101) is never a current county here; the prefecture
level keeps the municipalities' "市辖区"/"县" (1101, 5001, 5002) and the "省直辖县级行政单位" codes (4290,
6590), which are the prefecture part of their counties' codes.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Literal

# The python-stdnum release divisions.csv was generated from (tests compare the CSV with it).
SOURCE_VERSION = "2.2"

Level = Literal["province", "prefecture", "county"]

_LEVELS: dict[str, Level] = {"province": "province", "prefecture": "prefecture", "county": "county"}

# County-level codes that group a city's districts for statistics; nobody lives in "市辖区" as such.
_PLACEHOLDER_COUNTIES = frozenset({"市辖区"})


@dataclass(frozen=True)
class Division:
    code: str
    name: str
    province_code: str
    prefecture_code: str | None
    level: Level
    valid_from: int | None
    valid_to: int | None

    @property
    def current(self) -> bool:
        return self.valid_to is None


def _year(cell: str) -> int | None:
    return int(cell) if cell else None


@cache
def _table() -> dict[str, tuple[Division, ...]]:
    """Read the CSV once; each code's names in the order they were used."""
    text = resources.files("libs.reference").joinpath("divisions.csv").read_text(encoding="utf-8")
    by_code: dict[str, list[Division]] = {}
    for row in csv.DictReader(io.StringIO(text)):
        division = Division(
            code=row["code"],
            name=row["name"],
            province_code=row["province_code"],
            prefecture_code=row["prefecture_code"] or None,
            level=_LEVELS[row["level"]],
            valid_from=_year(row["valid_from"]),
            valid_to=_year(row["valid_to"]),
        )
        by_code.setdefault(division.code, []).append(division)
    return {code: tuple(rows) for code, rows in by_code.items()}


def _six_digits(code: str) -> str | None:
    """Pad a province ("61") or prefecture ("6101") code to six digits; None for anything else."""
    if not code.isascii() or not code.isdigit() or len(code) not in (2, 4, 6):
        return None
    return code.ljust(6, "0")


def history(code: str) -> tuple[Division, ...]:
    """Every name the code carried, oldest first; empty for a code that never existed."""
    full = _six_digits(code)
    return _table().get(full, ()) if full else ()


def division(code: str) -> Division | None:
    """The division a code stands for now, or under its last name if it was abolished; None if unknown.

    Accepts 2-, 4- and 6-digit codes: division("61") is 陕西省, division("6101") is 西安市."""
    rows = history(code)
    if not rows:
        return None
    return next((row for row in rows if row.current), rows[-1])


def is_current_county(code: str) -> bool:
    """A 6-digit county-level code in force now (县, 区, 县级市, 旗 ...), e.g. "610102" 新城区."""
    if len(code) != 6 or code.endswith("00"):
        return False
    found = division(code)
    return (
        found is not None
        and found.current
        and found.level == "county"
        and found.name not in _PLACEHOLDER_COUNTIES
    )


def is_current_prefecture(code: str) -> bool:
    """A 4-digit prefecture-level code in force now (地级市, 地区, 自治州, 盟 ...), e.g. "6101" 西安市."""
    if len(code) != 4 or code.endswith("00"):
        return False
    found = division(code)
    return found is not None and found.current and found.level == "prefecture"


def county_in(county_code: str, province_code: str, prefecture_code: str | None = None) -> bool:
    """A current county inside that province (and that prefecture, when one is given)."""
    return (
        is_current_county(county_code)
        and county_code[:2] == province_code
        and (prefecture_code is None or county_code[:4] == prefecture_code)
    )


def county_name(code: str) -> str | None:
    """The county's name now (its last name if abolished); None for an unknown or non-county code."""
    found = division(code) if len(code) == 6 else None
    return found.name if found is not None and found.level == "county" else None


def region_name(code: str) -> str:
    """The name of a province (2 digits), prefecture (4) or county (6) code, or the code itself if unknown."""
    found = division(code)
    return found.name if found is not None else code
