"""Regenerate divisions.csv from python-stdnum's GB/T 2260 history; run by hand, commit the output.

    .venv/bin/python -m libs.reference.build_divisions

The CSV is project data, not a build step: the services read only the committed file, so an upgrade of
python-stdnum changes nothing until someone reruns this, reviews the diff and updates the date in
divisions.py. Source and column meanings: see libs/reference/divisions.py.
"""

from __future__ import annotations

import csv
import re
import sys
from dataclasses import dataclass
from importlib import resources
from importlib.metadata import version
from pathlib import Path

COLUMNS = ("code", "name", "province_code", "prefecture_code", "level", "valid_from", "valid_to")
TARGET = Path(__file__).with_name("divisions.csv")

# loc.dat: `61 province="陕西省"` opens a province; `  0102 county="[1983-]新城区"` is code 610102. One
# code may carry several names in turn: `[1983-1999]城区,[2000-]王益区`; `[-2010]` means "until 2010".
# A dozen historical names read `[1983-1982]`: a slip for "until 1982" (the name before a 1983 renaming).
_PROVINCE = re.compile(r'^(?P<code>\d{2}) province="(?P<name>[^"]+)"$')
_ENTRY = re.compile(r'^ {2}(?P<suffix>\d{4}) county="(?P<names>[^"]+)"$')
_PERIOD = re.compile(r"^(?:\[(?P<start>\d{4})?-(?P<end>\d{4})?\])?(?P<name>[^\[\],]+)$")


@dataclass(frozen=True)
class Row:
    code: str
    name: str
    valid_from: str
    valid_to: str

    def cells(self) -> tuple[str, ...]:
        if self.code.endswith("0000"):
            level = "province"
        elif self.code.endswith("00"):
            level = "prefecture"
        else:
            level = "county"
        prefecture = "" if level == "province" else self.code[:4]
        return (self.code, self.name, self.code[:2], prefecture, level, self.valid_from, self.valid_to)


def parse(text: str) -> list[Row]:
    """Every (code, name, period) in loc.dat; a line the format does not explain stops the build."""
    rows: list[Row] = []
    province: str | None = None
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip() or line.startswith("#"):
            continue
        if match := _PROVINCE.match(line):
            province = match["code"]
            continue
        entry = _ENTRY.match(line)
        if entry is None or province is None:
            raise ValueError(f"loc.dat line {number}: unexpected {line!r}")
        for part in entry["names"].split(","):
            period = _PERIOD.match(part)
            if period is None:
                raise ValueError(f"loc.dat line {number}: unexpected name {part!r}")
            start, end = period["start"] or "", period["end"] or ""
            if start and end and start > end:
                # Upstream slip, e.g. `[1983-1982]下关市,[1983-]大理市`: the name used until END.
                start = ""
            rows.append(Row(province + entry["suffix"], period["name"], start, end))
    return sorted(rows, key=lambda row: (row.code, row.valid_from, row.valid_to or "9999"))


def main() -> None:
    source = resources.files("stdnum.cn").joinpath("loc.dat").read_text(encoding="utf-8")
    rows = parse(source)
    with TARGET.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(COLUMNS)
        writer.writerows(row.cells() for row in rows)
    newest = max(int(year) for row in rows for year in (row.valid_from, row.valid_to) if year)
    print(
        f"{TARGET.name}: {len(rows)} rows from python-stdnum {version('python-stdnum')} "
        f"(newest change {newest}); update the date in divisions.py",
        file=sys.stderr,
    )


if __name__ == "__main__":
    main()
