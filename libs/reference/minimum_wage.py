"""Jiangsu's monthly minimum wage per city, dated, so a job paying less can be held back before publication.

Jiangsu sets three tiers (一类/二类/三类) county by county, but a job here carries only a city code. Each city
therefore gets the LOWEST tier present anywhere in it: a lawful job is never flagged, at the price of missing
some underpaying jobs in the city's better-paid districts. Where a county's tier could not be checked the lower
tier was taken; the `tier_basis` column of minimum_wage.csv says, per city, what the choice rests on.

Rows in minimum_wage.csv (checked 2026-11-28 with the project's search tool):

- 2021-08-01, 2280/2070/1840 yuan: 《江苏省人力资源和社会保障厅关于调整全省最低工资标准的通知》
  (苏人社发〔2021〕72号), issued by the provincial HR department with the provincial government's consent,
  not a 苏政发 document. The amounts and the date were seen in a copy of the notice and in the Nantong and
  Suzhou implementing notices; the per-county attachment itself was not found, so several cities' tiers rest
  on the 2017 classification (see tier_basis).
- Not included: a later adjustment (苏人社规〔2025〕3号, published 2025-12-29, 一类 2660 yuan) is mentioned
  by a single third-party source, without the 二类/三类 amounts or the effective date. Until those are
  verified, dates after it keep returning the 2021 row, which is lower: lenient, never wrongly strict.
"""

import csv
import io
from dataclasses import dataclass
from datetime import date
from functools import cache
from importlib import resources


@dataclass(frozen=True)
class MinimumWage:
    city_code: str
    monthly_yuan: int
    effective_from: date
    source: str


@cache
def _table() -> dict[str, tuple[MinimumWage, ...]]:
    """Read the CSV once; rows per city, oldest first."""
    text = resources.files("libs.reference").joinpath("minimum_wage.csv").read_text(encoding="utf-8")
    by_city: dict[str, list[MinimumWage]] = {}
    for row in csv.DictReader(io.StringIO(text)):
        wage = MinimumWage(
            city_code=row["city_code"],
            monthly_yuan=int(row["monthly_yuan"]),
            effective_from=date.fromisoformat(row["effective_from"]),
            source=row["source"],
        )
        by_city.setdefault(wage.city_code, []).append(wage)
    return {code: tuple(sorted(rows, key=lambda w: w.effective_from)) for code, rows in by_city.items()}


def minimum_monthly_wage(city_code: str, on: date) -> MinimumWage | None:
    """The standard in force in that city on that date; None for an unknown city or a date before the table."""
    in_force = None
    for wage in _table().get(city_code, ()):
        if wage.effective_from <= on:
            in_force = wage
    return in_force
