"""What every part of the monitoring bench shares: where things are, the console, the goals."""

from __future__ import annotations

from pathlib import Path

from rich.console import Console

ROOT = Path(__file__).resolve().parents[2]


console = Console()
if not console.is_terminal:  # piped into a file or a note: do not squeeze the tables into 80 columns
    console.width = 260
err = Console(stderr=True)

GENERATOR_VERSION = 2  # part of the cache key: change it whenever the history's shape changes
CACHE_DIR = ROOT / "var" / "bench"
VARIANTS = ("service", "sqlite", "duckdb", "postgres")  # postgres only with --postgres
VARIANT_TITLES = {
    "service": "service",
    "sqlite": "SQL GROUP BY (sqlite3)",
    "duckdb": "DuckDB (same SQL)",
    "postgres": "service on PostgreSQL",
}
STATS_GOAL_MS = 200.0  # the goals, shown next to the figures (not asserted)
REPORT_GOAL_MS = 2000.0
