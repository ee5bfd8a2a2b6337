"""Rules as data: a policy item's conditions are a CEL expression over a fixed vocabulary of anonymous facts.

The office edits the expression, not the code. CEL (Google's Common Expression Language) cannot loop without
bound, call out, or touch anything but the facts it is given, so an expression is safe to store and run. It is
evaluated by `common-expression-language` (a Rust interpreter with a typed Python binding, one wheel and no
dependencies): about 8 µs per evaluation here, against about 400 µs for the pure-Python `cel-python`, which
matters when every placement of a province is checked against every item each month.

An item is evaluated for one *occasion*: a placement (what the worker, the employer or the agency that brought
it earned by it), a training (the worker's allowance, the base's subsidy), or an employer's year (an award for
how many it hired). Each occasion has its own facts, listed in `OCCASIONS`; dates are ISO strings
("2026-03-01"), which compare in date order. The vocabulary is published at `GET /v1/policy-vocabulary`.
"""

from __future__ import annotations

import functools
import itertools
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

import cel

FactType = Literal["bool", "int", "string", "list<string>"]
OccasionName = Literal["placement", "training", "employer_year"]


@dataclass(frozen=True)
class Fact:
    """One word of the vocabulary: `worker.key_region`, its CEL type, what it means, an example value."""

    name: str
    type: FactType
    label: str
    example: bool | int | str | list[str]


@dataclass(frozen=True)
class Occasion:
    name: OccasionName
    label: str
    facts: tuple[Fact, ...]


AS_OF = Fact("as_of", "string", "核查日（YYYY-MM-DD）：按这一天的情况判断", "2026-06-01")

WORKER = (
    Fact(
        "worker.categories",
        "list<string>",
        "人员类别：poverty_alleviated 脱贫人口、registered_low_income 原建档立卡低收入人口、"
        "rural_low_income 农村低收入人口、dibao 低保对象",
        ["poverty_alleviated"],
    ),
    Fact("worker.key_region", "bool", "来自国家或省乡村振兴重点帮扶（帮促）县", True),
    Fact("worker.province_code", "string", "户籍省份代码（2 位）", "52"),
    Fact("worker.county_code", "string", "户籍县（区）代码（6 位）", "520602"),
    Fact("worker.age", "int", "年龄（周岁，按最近一次登记）", 34),
)

PLACEMENT = (
    Fact("placement.started_on", "string", "上岗日期", "2026-03-01"),
    Fact("placement.ended_on", "string", "离岗日期；仍在岗为空字符串", ""),
    Fact("placement.employed", "bool", "核查日仍在该岗位", True),
    Fact("placement.months_employed", "int", "到核查日（或离岗日）为止在该岗位的整月数", 3),
    Fact("placement.cross_province", "bool", "跨省就业：就业地与户籍地不在同一省份", True),
    Fact("placement.city_code", "string", "就业地（江苏设区市代码，4 位）", "3205"),
    Fact("placement.after_training", "bool", "上岗前 90 天内完成过培训", False),
    Fact("placement.agency_id", "string", "促成就业的人力资源服务机构或劳务经纪人；没有为空字符串", ""),
)

EMPLOYER = (
    Fact("employer.assistance_base", "bool", "就业帮扶基地", False),
    Fact("employer.caring", "bool", "爱心企业", False),
)

TRAINING = (
    Fact("training.enrolled_on", "string", "入学日期", "2026-03-01"),
    Fact("training.completed", "bool", "已结业", True),
    Fact("training.completed_on", "string", "结业日期；未结业为空字符串", "2026-04-15"),
    Fact("training.order", "bool", "订单式培训（有企业承诺录用）", True),
    Fact("training.employed_after", "bool", "结业后 90 天内上岗", True),
    Fact("training.employed_by_order_employer", "bool", "结业后被下订单的企业录用", True),
)

EMPLOYER_YEAR = (
    Fact("employer.assistance_base", "bool", "就业帮扶基地", True),
    Fact("employer.caring", "bool", "爱心企业", False),
    Fact("year.hired", "int", "当年（到核查日）吸纳的脱贫人口和农村低收入人口人数", 12),
    Fact("year.kept_6_months", "int", "其中到核查日已稳定就业满 6 个月的人数", 8),
    Fact("year.cross_province_hired", "int", "其中跨省来苏就业的人数", 10),
)

OCCASIONS: dict[str, Occasion] = {
    occasion.name: occasion
    for occasion in (
        Occasion("placement", "一次就业（上岗）", (AS_OF, *WORKER, *PLACEMENT, *EMPLOYER)),
        Occasion("training", "一次培训", (AS_OF, *WORKER, *TRAINING)),
        Occasion("employer_year", "用人单位的一个年度", (AS_OF, *EMPLOYER_YEAR)),
    )
}


class ConditionError(ValueError):
    """A condition that does not compile, names a fact outside its occasion's vocabulary, or is not a yes/no."""


def context(facts: Mapping[str, Any]) -> dict[str, Any]:
    """Flat facts ({"worker.age": 34}) as the nested values CEL reads (worker.age)."""
    nested: dict[str, Any] = {}
    for name, value in facts.items():
        head, _, tail = name.partition(".")
        if tail:
            nested.setdefault(head, {})[tail] = value
        else:
            nested[head] = value
    return nested


@functools.lru_cache(maxsize=512)
def compiled(condition: str) -> cel.Program:
    """Compiled once per text: an item's condition is evaluated for many occasions."""
    try:
        return cel.compile(condition)
    except ValueError as error:
        raise ConditionError(f"条件表达式无法解析：{error}") from None


def evaluate(condition: str, facts: Mapping[str, Any]) -> bool:
    """Whether the facts meet the condition. A condition that fails on real facts (a missing fact, a type it
    does not expect) raises ConditionError: the caller records it against the item instead of guessing."""
    return holds(condition, context(facts))


def holds(condition: str, nested: dict[str, Any]) -> bool:
    """`evaluate` on facts already nested (`context`): one day's facts are nested once for every item."""
    try:
        result = compiled(condition).execute(nested)
    except ConditionError:
        raise
    except Exception as error:  # the binding raises KeyError, TypeError, RuntimeError, ValueError, ...
        raise ConditionError(f"条件表达式无法求值：{type(error).__name__}: {error}") from None
    if not isinstance(result, bool):
        raise ConditionError(f"条件表达式的结果应为 true 或 false，实际为 {result!r}")
    return result


def check(condition: str, occasion: str) -> None:
    """Refuse a condition before it is saved, so that it fails here and not on a worker's record months later:
    it must compile, name only the occasion's facts (and the variables its own macros bind), and give a yes or
    no on the examples and with every yes/no fact turned over (both sides of `&&` and `||` are tried)."""
    facts = OCCASIONS[occasion].facts
    _names_only_vocabulary(condition, facts)
    for sample in _samples(facts):
        evaluate(condition, sample)


# CEL string literals (triple-quoted, or quoted with escapes; any prefix), removed before names are read.
_STRING = re.compile(
    r'"""[\s\S]*?"""' + r"|'''[\s\S]*?'''" + r'|"(?:\\.|[^"\\\n])*"' + r"|'(?:\\.|[^'\\\n])*'"
)
_PATH = re.compile(r"(?<![\w.])([A-Za-z_]\w*)\.([A-Za-z_]\w*)")
_BOUND = re.compile(r"\b(?:all|exists|exists_one|map|filter)\(\s*([A-Za-z_]\w*)\s*,")


def _names_only_vocabulary(condition: str, facts: tuple[Fact, ...]) -> None:
    program = compiled(condition)
    names = {fact.name for fact in facts}
    heads = {name.partition(".")[0] for name in names}
    code = _STRING.sub('""', condition)
    unknown = sorted(set(program.variables()) - heads - set(_BOUND.findall(code)))
    unknown += sorted({f"{head}.{field}" for head, field in _PATH.findall(code) if head in heads} - names)
    if unknown:
        raise ConditionError(f"条件表达式无法求值：使用了该核查对象没有的事实 {'、'.join(unknown)}")


def _samples(facts: tuple[Fact, ...]) -> list[dict[str, Any]]:
    """The examples, then every combination of the yes/no facts (at most 2**8) with the other facts emptied
    and kept, which makes short-circuited branches run."""
    flags = [fact.name for fact in facts if fact.type == "bool"]
    base = {fact.name: fact.example for fact in facts}
    emptied = {fact.name: _empty(fact) for fact in facts}
    samples = [base]
    for values in itertools.islice(itertools.product((True, False), repeat=len(flags)), 256):
        for other in (base, emptied):
            samples.append({**other, **dict(zip(flags, values, strict=True))})
    return samples


def _empty(fact: Fact) -> bool | int | str | list[str]:
    empty: dict[str, bool | int | str | list[str]] = {
        "bool": False,
        "int": 0,
        "string": "",
        "list<string>": [],
    }
    return empty[fact.type]
