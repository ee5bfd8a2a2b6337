"""The tables printed and the JSON written."""

from __future__ import annotations

import argparse
from typing import Any

from rich.table import Table

from bench.monitoring.common import REPORT_GOAL_MS, STATS_GOAL_MS, VARIANT_TITLES, VARIANTS, console
from bench.monitoring.figures import REPORT, Case
from bench.monitoring.history import FACT_TABLES, Built
from bench.runner import percentile

REPORT_NOTE = (
    "monthly_report: services/monitoring/report.monthly_report for last month as the route asks for it (JSON "
    "not serialised; no workbook): the employment breakdowns by province (with the twelve-month series), Jiangsu "
    "city, category, how and where, retention over twelve months, funnel, training, bus and warnings of the "
    "month, and the progress of the year's agreements the caller sees; the baselines answer the same"
)

# ---------------------------------------------------------------------------------------------- output


def ms(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    value = seconds * 1000
    return f"{value:,.0f}" if value >= 100 else f"{value:.1f}" if value >= 10 else f"{value:.2f}"


def summary(samples: list[tuple[float, float]]) -> dict[str, Any]:
    walls, cpus = [s[0] for s in samples], [s[1] for s in samples]
    return {
        "n": len(samples),
        "wall_p50_s": percentile(walls, 50),
        "wall_p99_s": percentile(walls, 99),
        "wall_max_s": max(walls) if walls else None,
        "cpu_p50_s": percentile(cpus, 50),
        "cpu_p99_s": percentile(cpus, 99),
        "wall_s": walls,
        "cpu_s": cpus,
    }


def print_tables(
    cases: list[Case],
    built: Built,
    duck_info: dict[str, Any],
    args: argparse.Namespace,
    cpu: dict[str, Any],
) -> None:
    rows_table = Table(
        title=f"history: {args.workers:,} workers, seed {args.seed}, to {args.today} "
        f"({'cached' if built.cached else 'built'} in {built.seconds:.0f} s; file {built.file_mb:,.0f} MB; "
        f"DuckDB copy {duck_info['seconds']:.0f} s)",
        title_justify="left",
    )
    for name in ("table", "rows"):
        rows_table.add_column(name, justify="left" if name == "table" else "right")
    facts = 0
    for name, count in built.rows.items():
        rows_table.add_row(name, f"{count:,}")
        facts += count if name in FACT_TABLES else 0
    rows_table.add_row("[bold]facts[/] (the seven fact tables)", f"[bold]{facts:,}[/]")
    console.print(rows_table)

    table = Table(
        title="wall ms p50 / p99 and CPU ms p50 per call (n calls each; variants interleaved in every round)",
        title_justify="left",
    )
    table.add_column("figure", no_wrap=True)
    table.add_column("caller", no_wrap=True)
    table.add_column("n", justify="right")
    variants = cases[0].variants if cases else list(VARIANTS)
    for variant in variants:
        table.add_column(f"{VARIANT_TITLES[variant]}\nwall p50 / p99", justify="right", no_wrap=True)
        table.add_column("cpu p50", justify="right", no_wrap=True)
    table.add_column("service ÷\nsqlite", justify="right")
    table.add_column("service ÷\nduckdb", justify="right")
    table.add_column("goal\n(service p99)", justify="right", no_wrap=True)
    if "postgres" in variants:
        table.add_column("goal\n(on PostgreSQL)", justify="right", no_wrap=True)
    for case in cases:
        stats = {variant: summary(case.samples[variant]) for variant in variants}
        cells: list[str] = []
        for variant in variants:
            s = stats[variant]
            cells += [f"{ms(s['wall_p50_s'])} / {ms(s['wall_p99_s'])}", ms(s["cpu_p50_s"])]
        ratios = []
        for other in ("sqlite", "duckdb"):
            a, b = stats["service"]["wall_p50_s"], stats[other]["wall_p50_s"]
            ratios.append(f"{a / b:.1f}×" if a and b else "-")
        goal = REPORT_GOAL_MS if case.figure == REPORT else STATS_GOAL_MS
        verdicts = []
        for variant in ("service", "postgres") if "postgres" in variants else ("service",):
            p99 = (stats[variant]["wall_p99_s"] or 0) * 1000
            verdicts.append(f"[green]≤{goal:,.0f}[/]" if p99 <= goal else f"[red]>{goal:,.0f}[/]")
        table.add_row(
            f"[bold]{case.figure}[/]" if case.figure == REPORT else case.figure,
            case.caller.label,
            str(stats["service"]["n"]),
            *cells,
            *ratios,
            *verdicts,
        )
    console.print(table)
    console.print(f"[dim]{REPORT_NOTE}[/]")

    memory = Table(
        title="memory of one call: peak RSS above the RSS before it / tracemalloc peak (MB)",
        title_justify="left",
    )
    memory.add_column("figure", no_wrap=True)
    memory.add_column("caller", no_wrap=True)
    for variant in variants:
        memory.add_column(VARIANT_TITLES[variant], justify="right", no_wrap=True)
    for case in cases:
        cells = []
        for variant in variants:
            m = case.memory.get(variant, {})
            rss = m.get("rss_peak_mb", -1.0)
            cells.append(f"{'-' if rss < 0 else f'{rss:,.1f}'} / {m.get('python_peak_mb', 0.0):,.1f}")
        memory.add_row(case.figure, case.caller.label, *cells)
    console.print(memory)
    console.print(
        f"[dim]DuckDB holds its copy of the tables in this process: {duck_info.get('duckdb_memory_mb') or 0:,.0f} MB "
        f"(duckdb_memory()), RSS grew {duck_info['rss_growth_mb']:,.0f} MB while loading; "
        f"threads {duck_info['threads']}. SQLite reads the {built.file_mb:,.0f} MB file through the page cache.[/]"
    )

    slow = Table(
        title="the service's slowest statements (admin, one warm call; EXPLAIN QUERY PLAN)",
        title_justify="left",
    )
    slow.add_column("figure", no_wrap=True)
    slow.add_column("ms", justify="right")
    slow.add_column("statement")
    slow.add_column("plan")
    admin = [case for case in cases if case.caller.label == "admin" and case.figure != REPORT]
    for case in admin:
        for statement in sorted(case.statements, key=lambda s: -s.ms)[:2]:
            text = " ".join(statement.sql.split())
            slow.add_row(
                case.figure,
                f"{statement.ms:,.0f}",
                text[:150] + ("…" if len(text) > 150 else ""),
                "\n".join(statement.plan),
            )
    console.print(slow)
    other_cores = cpu.get("other_cores")
    if other_cores is not None and other_cores > 0.25:
        console.print(
            f"[yellow]note:[/] other processes used {other_cores:.2f} of {cpu.get('cpu_count')} cores while this ran: "
            "the numbers are skewed; rerun on a quiet machine"
        )


def case_json(case: Case) -> dict[str, Any]:
    return {
        "figure": case.figure,
        "caller": case.caller.label,
        **{
            variant: {**summary(case.samples[variant]), "memory": case.memory.get(variant)}
            for variant in case.variants
        },
        "service_statements": [vars(statement) for statement in case.statements],
        "sqlite_statements": [vars(statement) for statement in case.baseline_statements],
    }
