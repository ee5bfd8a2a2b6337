"""`eastwest eval matching`: the offline ranking evaluation as a table (the typer command calls `run_eval`)."""

from __future__ import annotations

import time

from rich.console import Console
from rich.table import Table

from services.matching.evaluation import evaluate


def run_eval(workers: int, jobs: int, seed: int) -> None:
    """Generate planted data, rank it with the ranker and two baselines, print precision, NDCG and coverage."""
    console = Console()
    if not console.is_terminal:  # piped into a file or a note: do not squeeze the table into 80 columns
        console.width = 160
    started = time.perf_counter()
    rows = evaluate(n_workers=workers, n_jobs=jobs, seed=seed)
    elapsed = time.perf_counter() - started
    table = Table(
        title=f"matching evaluation · {workers} workers, {jobs} jobs, seed {seed}",
        title_justify="left",
        caption=(
            "relevant = true occupation and city, pay ≥ the worker's minimum, passes hard filters; "
            "all methods rank the same eligible jobs; averages over workers with ≥ 1 relevant job; "
            "coverage = share of open jobs in anyone's top 10"
        ),
        caption_justify="left",
    )
    for name in ("method", "P@10", "NDCG@10", "coverage", "workers", "relevant/worker"):
        table.add_column(name, justify="left" if name == "method" else "right", no_wrap=True)
    for row in rows:
        table.add_row(
            row.method,
            f"{row.precision_at_10:.3f}",
            f"{row.ndcg_at_10:.3f}",
            f"{row.coverage:.1%}",
            str(row.workers),
            f"{row.mean_relevant:.2f}",
        )
    console.print(table)
    console.print(f"[dim]{elapsed:.1f} s[/]")
