"""A roster's 工作经历 cell read into spells of work history.

Offices type work history as prose in one cell: a spell per line or per 「；」, each usually led by its dates
("2018.03-2021.06 昆山电子厂 贴片", "2019年3月至今 工地钢筋工", "2015-2017 饭店帮厨"). A piece led by dates starts a
spell; a piece without starts one only when there is none yet, otherwise it continues the spell before it. Nothing
typed is dropped: whatever follows the dates is the spell's `duties`, which the schema bounds and checks (an end
before a start, a date in the future) against the same column.
"""

from __future__ import annotations

import re
from datetime import date
from typing import Any

from libs.events.contracts import WORK_HISTORY_SPELLS

_PIECES = re.compile(r"[\n\r；;]+")
_MONTH = r"(?:0?[1-9]|1[0-2])(?!\d)"
_YEAR = r"(?:19|20)\d{2}(?!\d)"
_SPAN = re.compile(
    rf"""^\s*(?P<y1>{_YEAR})\s*(?:[年./\-．／－]\s*(?P<m1>{_MONTH})\s*月?|年)?
    \s*(?:[-~—–至到－～]+\s*(?:(?P<y2>{_YEAR})\s*(?:[年./\-．／－]\s*(?P<m2>{_MONTH})\s*月?|年)?|(?P<now>至今|今|现在|目前))?)?
    [\s，,：:、]*""",
    re.VERBOSE,
)


class TooManySpells(ValueError):
    pass


def parse_work_history(text: str) -> list[dict[str, Any]]:
    """Spells (`WorkSpellIn` fields) in the order typed. Raises `TooManySpells` past `WORK_HISTORY_SPELLS`."""
    spells: list[dict[str, Any]] = []
    for piece in _PIECES.split(text):
        piece = piece.strip()
        if not piece:
            continue
        match = _SPAN.match(piece)
        if match is not None or not spells:
            spells.append(_spell(match, piece))
        else:
            previous = spells[-1]
            previous["duties"] = f"{previous['duties']}\n{piece}".strip()
    if len(spells) > WORK_HISTORY_SPELLS:
        raise TooManySpells(
            f"工作经历最多 {WORK_HISTORY_SPELLS} 段（每段以起止年月开头），这里有 {len(spells)} 段：请合并较早的经历"
        )
    return spells


def _spell(match: re.Match[str] | None, piece: str) -> dict[str, Any]:
    if match is None:
        return {"duties": piece}
    started = date(int(match["y1"]), int(match["m1"] or 1), 1)
    ended = None
    if match["y2"]:
        ended = date(int(match["y2"]), int(match["m2"] or 12), 1)
    return {"started": started, "ended": ended, "duties": piece[match.end() :].strip()}
