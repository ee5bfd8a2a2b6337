"""`eastwest eval matching`: the offline ranking evaluation as a table (the typer command calls `run_eval`)."""

from __future__ import annotations

import time

from rich.console import Console
from rich.table import Table

from services.matching.evaluation import evaluate, evaluate_learning, evaluate_spread, evaluate_text


def run_eval(workers: int, jobs: int, seed: int) -> None:
    """Generate planted data, rank it with the ranker and two baselines, print precision, NDCG and coverage."""
    console = Console()
    if not console.is_terminal:  # piped into a file or a note: do not squeeze the table into 80 columns
        console.width = 160
    started = time.perf_counter()
    rows = evaluate(n_workers=workers, n_jobs=jobs, seed=seed)
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
    spread = Table(
        title="spreading recommendations by the places left (services/matching/congestion.py)",
        title_justify="left",
        caption=(
            "exposure = 1/log2(rank+2) summed over workers' top 10; Gini of exposure per place over open jobs; "
            "excess = share of exposure beyond 10 per place; fit = mean score shown (what is taken off not counted)"
        ),
        caption_justify="left",
    )
    for name in ("", "P@10", "NDCG@10", "jobs shown", "Gini", "excess", "mean fit"):
        spread.add_column(name, justify="left" if not name else "right", no_wrap=True)
    for item in evaluate_spread(n_workers=workers, n_jobs=jobs, seed=seed):
        figures = item.figures
        spread.add_row(
            item.when,
            f"{item.precision_at_10:.3f}",
            f"{item.ndcg_at_10:.3f}",
            f"{figures.shown:.1%}",
            f"{figures.gini:.3f}",
            f"{figures.excess:.1%}",
            f"{figures.mean_fit:.3f}",
        )
    console.print(spread)
    texts = Table(
        title="text methods on the same eligible pairs (services/matching/text_methods.py)",
        title_justify="left",
        caption="candidate AUC: per job, relevant workers above the others; CPU: vectorising and scoring every pair",
        caption_justify="left",
    )
    for name in ("method", "P@10", "NDCG@10", "candidate AUC", "CPU s"):
        texts.add_column(name, justify="left" if name == "method" else "right", no_wrap=True)
    for method in evaluate_text(n_workers=workers, n_jobs=jobs, seed=seed):
        texts.add_row(
            method.method,
            f"{method.precision_at_10:.3f}",
            f"{method.ndcg_at_10:.3f}",
            f"{method.candidate_auc:.3f}",
            f"{method.cpu_seconds:.2f}",
        )
    console.print(texts)
    learned = Table(
        title="factor weights: hand-set against learned from outcomes (services/matching/learning.py)",
        title_justify="left",
        caption=(
            "fitted on the outcomes of half the workers (kept 90 days or not, planted by their true preference); "
            "outcome AUC on the newer 30 % of outcomes; the rest on the other half's planted preferences"
        ),
        caption_justify="left",
    )
    for name in (
        "weights",
        "outcome AUC",
        "candidate AUC",
        "P@10",
        "NDCG@10",
        "text/occupation/training/pay/dorm",
    ):
        learned.add_column(name, justify="left" if name == "weights" else "right", no_wrap=True)
    for fitted in evaluate_learning(n_workers=workers, n_jobs=jobs, seed=seed):
        learned.add_row(
            fitted.weights,
            "-" if fitted.outcome_auc is None else f"{fitted.outcome_auc:.3f}",
            f"{fitted.candidate_auc:.3f}",
            f"{fitted.precision_at_10:.3f}",
            f"{fitted.ndcg_at_10:.3f}",
            " / ".join(f"{value:.3f}" for value in fitted.factor_weights.values()),
        )
    console.print(learned)
    console.print(f"[dim]{time.perf_counter() - started:.1f} s[/]")
