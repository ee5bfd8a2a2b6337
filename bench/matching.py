"""Matching benchmark: top-20 for every worker, one recommendations request, and capacity-aware allocation, on
synthetic data (services/matching/synthetic.py: realistic Chinese titles and descriptions, Jiangsu cities,
大典 occupation codes, plausible pay).

For each workers x jobs size, side by side in the same run:
- ranker: MatchIndex.top_k_arrays (every worker's top 20 with all hard filters and the full score) and
  MatchIndex.recommend (one request: filters, score, top 20 and their reasons) / candidates (a job's top 20);
- naive: a per-pair Python loop with the same filters and score on the same tf-idf vectors, timed on a sample of
  jobs and workers and EXTRAPOLATED linearly to the full size (marked "~");
- NearestNeighbors(metric="cosine", algorithm="brute") fitted on the same job vectors: text only, NO hard
  filters (it may return closed, full, out-of-city jobs), on a sample of workers, extrapolated when the sample
  is smaller than all workers (marked "~").
Memory: tracemalloc peak of the call (numpy/scipy arrays and Python objects allocated during it; not memory held
before it, nor BLAS/HiGHS internals), plus the index's own arrays (MatchIndex.nbytes) and the process's
ru_maxrss. A size whose estimated ranker time exceeds --budget seconds is skipped with a message; the largest
size (1M x 200k) runs only with --include-largest. No assertions: it measures and reports.

    .venv/bin/python -m bench.matching                                   # 10k,100k,1M x 20k,200k (1M x 200k skipped)
    .venv/bin/python -m bench.matching --workers 10000 --jobs 20000      # quick
    .venv/bin/python -m bench.matching --include-largest --budget 1800   # also 1M x 200k
"""

from __future__ import annotations

import argparse
import heapq
import os
import resource
import sys
import time
import tracemalloc
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field, replace
from datetime import date
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
from rich.console import Console
from rich.table import Table

ROOT = Path(__file__).resolve().parent.parent
if __package__ in (None, ""):  # `python bench/matching.py`
    sys.path.insert(0, str(ROOT))

from bench.runner import machine_info, write_report  # noqa: E402
from libs.reference.regions import JIANGSU_CITIES  # noqa: E402
from services.matching.allocation import allocate, greedy  # noqa: E402
from services.matching.columns import legal_age_range  # noqa: E402
from services.matching.features import JobFeatures, PriorityWeights, ScoreWeights, WorkerFeatures  # noqa: E402
from services.matching.ranker import AVAILABLE_WITHIN_DAYS, MatchIndex  # noqa: E402
from services.matching.synthetic import make_jobs, make_workers  # noqa: E402

console = Console()
if not console.is_terminal:
    console.width = 220
err = Console(stderr=True)
TODAY = date(2026, 12, 1)
LARGEST = 1_000_000 * 200_000
T = TypeVar("T")


# ---------------------------------------------------------------------------------------------- measurement


def percentile(values: Sequence[float], q: float) -> float:
    """Nearest rank: every reported value was observed."""
    ordered = sorted(values)
    return ordered[max(1, int(np.ceil(q / 100 * len(ordered)))) - 1]


def traced(call: Callable[[], T]) -> tuple[T, float, int]:
    """(result, seconds, tracemalloc peak bytes allocated during the call)."""
    tracemalloc.start()
    tracemalloc.reset_peak()
    try:
        started = time.perf_counter()
        result = call()
        seconds = time.perf_counter() - started
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return result, seconds, peak


def maxrss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB


def latencies(call: Callable[[Any], object], items: Sequence[Any], warmup: int = 5) -> list[float]:
    for item in items[:warmup]:
        call(item)
    out = []
    for item in items:
        started = time.perf_counter()
        call(item)
        out.append((time.perf_counter() - started) * 1000)
    return out


# ------------------------------------------------------------------------------------------- naive baseline


def _level(a: str | None, b: str | None) -> float:
    if not a or not b:
        return 0.0
    shared = 0
    for x, y in zip(a.split("-"), b.split("-"), strict=False):
        if x != y:
            break
        shared += 1
    return shared / 4


def naive_top(
    worker: WorkerFeatures,
    wvec: dict[int, float],
    jobs: Sequence[JobFeatures],
    jvecs: Sequence[dict[int, float]],
    k: int,
    weights: ScoreWeights,
    priority: PriorityWeights,
) -> list[tuple[float, str]]:
    """The same filters and score as the ranker, one pair at a time, in plain Python."""
    low, high = legal_age_range(worker.gender)
    start = max(TODAY, worker.available_from or TODAY)
    if not low <= worker.age <= high or (start - TODAY).days > AVAILABLE_WITHIN_DAYS:
        return []
    held = set(worker.certificates)
    scored: list[tuple[float, str]] = []
    for job, jvec in zip(jobs, jvecs, strict=True):
        if not job.open or job.headcount_left <= 0:
            continue
        if job.valid_until is not None and job.valid_until < start:
            continue
        if worker.city_codes and job.city_code not in worker.city_codes:
            continue
        if not worker.city_codes and job.city_code not in JIANGSU_CITIES:
            continue
        if (job.age_min or 0) > worker.age or (job.age_max or 999) < worker.age:
            continue
        if not held.issuperset(job.certificates_required):
            continue
        text = sum(value * jvec.get(column, 0.0) for column, value in wvec.items())
        close = max((_level(code, job.occupation_code) for code in worker.occupation_codes), default=0.0)
        score = weights.text * text + weights.occupation * close
        if job.occupation_code in worker.trained_occupations:
            score += weights.training
        if worker.min_salary is not None:
            gap = (job.salary_min + job.salary_max) / 2 - worker.min_salary
            score += weights.pay * max(-0.5, min(0.5, gap / weights.pay_span))
        if worker.needs_dormitory:
            score += weights.dormitory if job.dormitory else -weights.dormitory
        if job.employer_assistance_base:
            score += priority.assistance_base
        scored.append((score, job.id))
    return heapq.nlargest(k, scored)


def as_dicts(matrix: Any) -> list[dict[int, float]]:
    out = []
    for i in range(matrix.shape[0]):
        start, end = matrix.indptr[i], matrix.indptr[i + 1]
        out.append(
            dict(zip(matrix.indices[start:end].tolist(), matrix.data[start:end].tolist(), strict=True))
        )
    return out


# --------------------------------------------------------------------------------------------------- rows


@dataclass
class SizeRow:
    workers: int
    jobs: int
    skipped: str | None = None
    build_s: float = 0.0
    index_mb: float = 0.0
    pairs_in_city: int = 0  # worker-job pairs in acceptable cities (what top_k scores)
    topk_s: float = 0.0
    topk_peak_mb: float = 0.0
    topk_us_per_worker: float = 0.0
    ns_per_pair: float = 0.0
    recommend_ms: dict[str, float] = field(default_factory=dict)
    candidates_ms: dict[str, float] = field(default_factory=dict)
    upsert_job_ms: dict[str, float] = field(default_factory=dict)
    upsert_worker_ms: dict[str, float] = field(default_factory=dict)
    first_query_after_upserts_ms: float = 0.0
    requests: int = 0
    naive_us_per_pair: float = 0.0
    naive_topk_s_extrapolated: float = 0.0
    naive_recommend_ms_extrapolated: float = 0.0
    naive_sample: str = ""
    nn_topk_s: float = 0.0
    nn_extrapolated: bool = False
    nn_sample_workers: int = 0
    nn_peak_mb: float = 0.0
    nn_recommend_ms: dict[str, float] = field(default_factory=dict)
    maxrss_mb: float = 0.0
    loadavg: list[float] = field(default_factory=list)


@dataclass
class AllocationRow:
    method: str
    assigned: int
    unassigned: int
    total_fit: float
    oversubscribed_jobs: int
    seconds: float
    cpu_seconds: float = 0.0


def pairs_in_city(index: MatchIndex) -> int:
    """How many worker-job pairs the ranker scores: per city, workers accepting it x open jobs in it."""
    # a benchmark may look inside: these are MatchIndex's per-slot arrays
    open_jobs = np.bincount(index._j_city[index._j_live & index._j_open], minlength=64)
    live = np.flatnonzero(index._w_live)
    bits = index._w_cities.bits[live, 0]
    anywhere = int(index._w_any_city[live].sum())
    total = 0
    for code, i in index._cities.index.items():
        accepting = int((((bits >> np.uint64(i)) & np.uint64(1)) == 1).sum())
        total += (accepting + (anywhere if code in JIANGSU_CITIES else 0)) * int(open_jobs[i])
    return total


# ---------------------------------------------------------------------------------------------------- runs


def measure_size(
    args: argparse.Namespace,
    index: MatchIndex,
    workers: Sequence[WorkerFeatures],
    jobs: Sequence[JobFeatures],
    row: SizeRow,
) -> None:
    rng = np.random.default_rng(args.seed)
    pairs = pairs_in_city(index)
    row.pairs_in_city = pairs
    row.index_mb = index.nbytes() / 2**20

    err.print(f"[dim]  top-{args.k} for {len(workers):,} workers ({pairs:,} pairs in acceptable cities)[/]")
    top, seconds, peak = traced(lambda: index.top_k_arrays(None, args.k, TODAY, threads=args.threads))
    row.topk_s, row.topk_peak_mb = seconds, peak / 2**20
    row.topk_us_per_worker = seconds / len(workers) * 1e6
    row.ns_per_pair = seconds / max(1, pairs) * 1e9
    del top

    sample_workers = [
        workers[i] for i in rng.choice(len(workers), size=min(args.requests, len(workers)), replace=False)
    ]
    sample_jobs = [jobs[i] for i in rng.choice(len(jobs), size=min(args.requests, len(jobs)), replace=False)]
    row.requests = len(sample_workers)
    err.print(f"[dim]  {len(sample_workers)} recommend and candidates requests[/]")
    ms = latencies(lambda w: index.recommend(w.id, args.k, TODAY), sample_workers)
    row.recommend_ms = {"p50": percentile(ms, 50), "p99": percentile(ms, 99), "max": max(ms)}
    ms = latencies(lambda j: index.candidates(j.id, args.k, TODAY), sample_jobs)
    row.candidates_ms = {"p50": percentile(ms, 50), "p99": percentile(ms, 99), "max": max(ms)}

    # incremental: one job.published / person.updated as the service applies it, then a query that sees it
    fresh_jobs = [replace(j, id=f"bench-new-{i}") for i, j in enumerate(sample_jobs)]
    ms = latencies(index.upsert_job, fresh_jobs, warmup=0)
    row.upsert_job_ms = {"p50": percentile(ms, 50), "p99": percentile(ms, 99), "max": max(ms)}
    ms = latencies(index.upsert_worker, sample_workers, warmup=0)
    row.upsert_worker_ms = {"p50": percentile(ms, 50), "p99": percentile(ms, 99), "max": max(ms)}
    started = time.perf_counter()
    index.recommend(sample_workers[0].id, args.k, TODAY)
    row.first_query_after_upserts_ms = (time.perf_counter() - started) * 1000
    for job in fresh_jobs:
        index.remove_job(job.id)

    # (a) naive per-pair loop on a sample, extrapolated
    all_ids, job_matrix = index.job_vectors()  # open jobs only; the loop skips the others before text anyway
    position = {job_id: i for i, job_id in enumerate(all_ids)}
    naive_jobs = list(jobs[: min(len(jobs), args.naive_jobs)])
    held = [j.id for j in naive_jobs if j.id in position]
    dicts = dict(zip(held, as_dicts(job_matrix[[position[job_id] for job_id in held]]), strict=True))
    jvec_list = [dicts.get(j.id, {}) for j in naive_jobs]
    naive_workers = sample_workers[: args.naive_workers]
    wvecs = as_dicts(index.worker_vectors([w.id for w in naive_workers]))
    started = time.perf_counter()
    for w, wvec in zip(naive_workers, wvecs, strict=True):
        naive_top(w, wvec, naive_jobs, jvec_list, args.k, index.weights, index.priority)
    per_pair = (time.perf_counter() - started) / (len(naive_workers) * len(naive_jobs))
    row.naive_us_per_pair = per_pair * 1e6
    row.naive_topk_s_extrapolated = per_pair * len(workers) * len(jobs)
    row.naive_recommend_ms_extrapolated = per_pair * len(jobs) * 1000
    row.naive_sample = f"{len(naive_workers)} workers x {len(naive_jobs):,} jobs"

    # (b) NearestNeighbors brute cosine on the same vectors: text only, no filters
    from sklearn.neighbors import NearestNeighbors

    neighbours = NearestNeighbors(n_neighbors=args.k, metric="cosine", algorithm="brute").fit(job_matrix)
    nn_n = min(len(workers), args.nn_workers)
    nn_ids = [w.id for w in workers[:nn_n]]
    queries = index.worker_vectors(nn_ids)
    err.print(f"[dim]  NearestNeighbors on {nn_n:,} workers x {len(all_ids):,} jobs[/]")
    _, seconds, peak = traced(lambda: neighbours.kneighbors(queries, n_neighbors=args.k))
    row.nn_sample_workers = nn_n
    row.nn_extrapolated = nn_n < len(workers)
    row.nn_topk_s = seconds * len(workers) / nn_n
    row.nn_peak_mb = peak / 2**20
    single = index.worker_vectors([w.id for w in sample_workers])
    ms = latencies(
        lambda i: neighbours.kneighbors(single[i], n_neighbors=args.k), list(range(single.shape[0]))
    )
    row.nn_recommend_ms = {"p50": percentile(ms, 50), "p99": percentile(ms, 99), "max": max(ms)}
    row.maxrss_mb = maxrss_mb()
    row.loadavg = list(os.getloadavg())


def run_sizes(args: argparse.Namespace) -> list[SizeRow]:
    worker_sizes = sorted(int(v) for v in args.workers.split(",") if v.strip())
    job_sizes = sorted(int(v) for v in args.jobs.split(",") if v.strip())
    err.print(f"[dim]generating {max(job_sizes):,} jobs and {max(worker_sizes):,} workers[/]")
    started = time.perf_counter()
    all_jobs = make_jobs(max(job_sizes), seed=args.seed, today=TODAY)
    all_workers = make_workers(max(worker_sizes), seed=args.seed, today=TODAY)
    err.print(f"[dim]  {time.perf_counter() - started:.1f} s[/]")
    rows: list[SizeRow] = []
    ns_per_pair = args.assume_ns_per_pair
    for n_workers in worker_sizes:
        index: MatchIndex | None = None
        held_jobs = 0
        build = 0.0
        for n_jobs in job_sizes:
            row = SizeRow(workers=n_workers, jobs=n_jobs)
            rows.append(row)
            estimate = (
                0.335 * n_workers * n_jobs * ns_per_pair / 1e9
            )  # ~1/3 of pairs are in acceptable cities
            if n_workers * n_jobs >= LARGEST and not args.include_largest:
                row.skipped = f"opt-in (--include-largest); estimated {estimate / 60:.0f} min for top-k alone"
                err.print(f"[yellow]skip {n_workers:,} x {n_jobs:,}: {row.skipped}[/]")
                continue
            if estimate > args.budget:
                row.skipped = f"estimated {estimate / 60:.0f} min > --budget {args.budget / 60:.0f} min"
                err.print(f"[yellow]skip {n_workers:,} x {n_jobs:,}: {row.skipped}[/]")
                continue
            err.print(f"[bold]{n_workers:,} workers x {n_jobs:,} jobs[/]")
            started = time.perf_counter()
            if index is None:
                index = MatchIndex()
                for start in range(0, n_workers, 100_000):
                    index.upsert_workers(all_workers[start : min(n_workers, start + 100_000)])
            for start in range(held_jobs, n_jobs, 50_000):  # jobs arrive on top of the ones already held
                index.upsert_jobs(all_jobs[start : min(n_jobs, start + 50_000)])
            held_jobs = n_jobs
            index.maintain(force_refit=True)
            build += time.perf_counter() - started
            row.build_s = build
            err.print(f"[dim]  index built in {build:.1f} s (cumulative for this worker size)[/]")
            measure_size(args, index, all_workers[:n_workers], all_jobs[:n_jobs], row)
            ns_per_pair = max(row.ns_per_pair, 1.0)
        del index
    return rows


def run_allocation(args: argparse.Namespace) -> tuple[list[AllocationRow], dict[str, Any]]:
    err.print(f"[bold]allocation: {args.alloc_workers:,} workers x {args.alloc_jobs:,} jobs[/]")
    jobs = make_jobs(args.alloc_jobs, seed=args.seed + 1, today=TODAY)
    workers = make_workers(args.alloc_workers, seed=args.seed + 1, today=TODAY)
    index = MatchIndex()
    index.upsert_jobs(jobs)
    index.upsert_workers(workers)
    index.maintain()
    started = time.perf_counter()
    candidates = index.top_k(None, args.k, TODAY, threads=args.threads)
    topk_s = time.perf_counter() - started
    capacity = {job.id: job.headcount_left for job in jobs}
    rows: list[AllocationRow] = []
    solvers = ("flow", "lp", "matching", "assignment")
    results: dict[str, Any] = {}
    times: dict[str, list[tuple[float, float]]] = {solver: [] for solver in solvers}
    for _ in range(args.alloc_rounds):  # interleaved: a busy spell of the machine hits every solver alike
        for solver in solvers:
            wall, cpu = time.perf_counter(), time.process_time()
            results[solver] = allocate(candidates, capacity, solver)  # type: ignore[arg-type]
            times[solver].append((time.perf_counter() - wall, time.process_time() - cpu))
    lp = results["lp"]
    naive_takers = sum(1 for matches in candidates.values() if matches and max(m.score for m in matches) > 0)
    rows.append(
        AllocationRow(
            "naive: everyone takes their top-1 (before)",
            naive_takers,
            len(candidates) - naive_takers,
            lp.naive_total_score,
            lp.oversubscribed_jobs_naive,
            0.0,
        )
    )
    started = time.perf_counter()
    greedy_chosen = greedy(candidates, capacity)
    greedy_s = time.perf_counter() - started
    rows.append(
        AllocationRow(
            "greedy, best score first",
            len(greedy_chosen),
            len(candidates) - len(greedy_chosen),
            sum(m.score for m in greedy_chosen),
            0,
            greedy_s,
        )
    )
    for solver, label in (
        ("flow", "min-cost flow, OR-Tools (the service's)"),
        ("lp", "LP, linprog(highs) (cross-check)"),
        ("matching", "min_weight_full_bipartite_matching"),
        ("assignment", "linear_sum_assignment (dense)"),
    ):
        result = results[solver]
        rows.append(
            AllocationRow(
                label,
                len(result.assignments),
                len(result.unassigned),
                result.total_score,
                result.oversubscribed_jobs,
                min(wall for wall, _ in times[solver]),
                min(cpu for _, cpu in times[solver]),
            )
        )
    extra = {
        "top_k_with_reasons_s": topk_s,
        "candidate_edges": sum(len(v) for v in candidates.values()),
        "headcount_total": sum(max(0, job.headcount_left) for job in jobs if job.open),
        "fit_given_up": lp.fit_given_up,
        "fit_given_up_share": lp.fit_given_up / lp.naive_total_score if lp.naive_total_score else 0.0,
    }
    return rows, extra


# ------------------------------------------------------------------------------------------------- output


def fmt_s(seconds: float, approx: bool = False) -> str:
    prefix = "~" if approx else ""
    if seconds >= 3600:
        return f"{prefix}{seconds / 3600:.1f} h"
    if seconds >= 60:
        return f"{prefix}{seconds / 60:.1f} min"
    return f"{prefix}{seconds:.2f} s"


def print_tables(rows: list[SizeRow], allocation: list[AllocationRow], extra: dict[str, Any], k: int) -> None:
    done = [row for row in rows if row.skipped is None]
    table = Table(
        title=f"top-{k} for every worker: wall time (peak memory of the call)", title_justify="left"
    )
    for name in (
        "workers",
        "jobs",
        "pairs in city",
        "ranker top_k_arrays",
        "ns/pair",
        "naive loop",
        "NearestNeighbors brute (no filters)",
    ):
        table.add_column(name, justify="right", no_wrap=True)
    for row in rows:
        if row.skipped:
            table.add_row(
                f"{row.workers:,}", f"{row.jobs:,}", "-", f"[yellow]skipped: {row.skipped}[/]", "", "", ""
            )
            continue
        table.add_row(
            f"{row.workers:,}",
            f"{row.jobs:,}",
            f"{row.pairs_in_city:,}",
            f"{fmt_s(row.topk_s)} ({row.topk_peak_mb:,.0f} MB)",
            f"{row.ns_per_pair:.1f}",
            fmt_s(row.naive_topk_s_extrapolated, approx=True),
            f"{fmt_s(row.nn_topk_s, approx=row.nn_extrapolated)} ({row.nn_peak_mb:,.0f} MB"
            + (f" for {row.nn_sample_workers:,})" if row.nn_extrapolated else ")"),
        )
    console.print(table)

    latency = Table(title="one request: latency ms p50 / p99 (200 requests)", title_justify="left")
    for name in (
        "workers",
        "jobs",
        "recommend (ranker)",
        "candidates (ranker)",
        "naive loop (extrapolated)",
        "NearestNeighbors kneighbors",
        "upsert_job",
        "upsert_worker",
    ):
        latency.add_column(name, justify="right", no_wrap=True)
    for row in done:
        latency.add_row(
            f"{row.workers:,}",
            f"{row.jobs:,}",
            f"{row.recommend_ms['p50']:.1f} / {row.recommend_ms['p99']:.1f}",
            f"{row.candidates_ms['p50']:.1f} / {row.candidates_ms['p99']:.1f}",
            f"~{row.naive_recommend_ms_extrapolated:,.0f}",
            f"{row.nn_recommend_ms['p50']:.1f} / {row.nn_recommend_ms['p99']:.1f}",
            f"{row.upsert_job_ms['p50']:.2f} / {row.upsert_job_ms['p99']:.2f}",
            f"{row.upsert_worker_ms['p50']:.2f} / {row.upsert_worker_ms['p99']:.2f}",
        )
    console.print(latency)

    growth = Table(title="growth with size (ranker)", title_justify="left")
    for name in (
        "workers",
        "jobs",
        "index build s",
        "index arrays MB",
        "top-k s",
        "x previous",
        "µs/worker",
        "process maxrss MB",
        "load 1m",
    ):
        growth.add_column(name, justify="right", no_wrap=True)
    previous: float | None = None
    for row in done:
        growth.add_row(
            f"{row.workers:,}",
            f"{row.jobs:,}",
            f"{row.build_s:.1f}",
            f"{row.index_mb:,.0f}",
            f"{row.topk_s:.2f}",
            f"{row.topk_s / previous:.1f}" if previous else "-",
            f"{row.topk_us_per_worker:.1f}",
            f"{row.maxrss_mb:,.0f}",
            f"{row.loadavg[0]:.2f}" if row.loadavg else "-",
        )
        previous = row.topk_s
    console.print(growth)
    for row in done:
        console.print(
            f"[dim]{row.workers:,} x {row.jobs:,}: naive timed on {row.naive_sample} "
            f"({row.naive_us_per_pair:.2f} µs/pair), NearestNeighbors on {row.nn_sample_workers:,} workers; "
            f"first recommend after {row.requests} job and {row.requests} worker upserts: "
            f"{row.first_query_after_upserts_ms:.1f} ms[/]"
        )

    if allocation:
        alloc = Table(
            title=f"allocation ({extra['candidate_edges']:,} candidate pairs, headcount {extra['headcount_total']:,})",
            title_justify="left",
        )
        for name in (
            "method",
            "assigned",
            "unassigned",
            "total fit",
            "oversubscribed jobs",
            "wall s",
            "CPU s",
        ):
            alloc.add_column(name, justify="left" if name == "method" else "right", no_wrap=True)
        for item in allocation:
            alloc.add_row(
                item.method,
                f"{item.assigned:,}",
                f"{item.unassigned:,}",
                f"{item.total_fit:,.1f}",
                str(item.oversubscribed_jobs),
                f"{item.seconds:.3f}" if item.seconds else "-",
                f"{item.cpu_seconds:.3f}" if item.cpu_seconds else "-",
            )
        console.print(alloc)
        console.print(
            f"[dim]fit given up for feasibility: {extra['fit_given_up']:.1f} "
            f"({extra['fit_given_up_share']:.1%} of the naive total); top-{k} with reasons for all workers "
            f"took {extra['top_k_with_reasons_s']:.2f} s[/]"
        )


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--workers", default="10000,100000,1000000", help="comma-separated worker counts")
    parser.add_argument("--jobs", default="20000,200000", help="comma-separated job counts")
    parser.add_argument("--k", type=int, default=20, help="results per worker (default 20)")
    parser.add_argument(
        "--requests", type=int, default=200, help="single requests timed per size (default 200)"
    )
    parser.add_argument("--naive-jobs", type=int, default=3000, help="jobs in the naive loop's sample")
    parser.add_argument("--naive-workers", type=int, default=5, help="workers in the naive loop's sample")
    parser.add_argument(
        "--nn-workers", type=int, default=5000, help="workers NearestNeighbors ranks (sample)"
    )
    parser.add_argument(
        "--budget", type=float, default=600.0, help="skip a size whose top-k would take longer (s)"
    )
    parser.add_argument(
        "--assume-ns-per-pair", type=float, default=15.0, help="estimate before the first size"
    )
    parser.add_argument("--include-largest", action="store_true", help="also run 1M workers x 200k jobs")
    parser.add_argument("--alloc-workers", type=int, default=10_000)
    parser.add_argument("--alloc-jobs", type=int, default=2_000)
    parser.add_argument(
        "--alloc-rounds", type=int, default=3, help="interleaved rounds; the best of each is shown"
    )
    parser.add_argument("--no-allocation", action="store_true")
    parser.add_argument(
        "--threads", type=int, default=os.cpu_count() or 1, help="top_k_arrays threads (default: all cores)"
    )
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--json", help="result file (default bench/results/matching-<timestamp>.json)")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> None:
    args = parse_args(argv)
    machine = machine_info(("numpy", "scipy", "scikit-learn"))
    allocation: list[AllocationRow] = []
    extra: dict[str, Any] = {}
    if not args.no_allocation:
        allocation, extra = run_allocation(args)
    rows = run_sizes(args)
    print_tables(rows, allocation, extra, args.k)
    report = {
        "benchmark": "matching",
        "machine": {**machine, "loadavg_at_end": os.getloadavg(), "maxrss_mb": maxrss_mb()},
        "options": vars(args),
        "memory": "tracemalloc peak during each call (numpy/scipy arrays and Python objects it allocated); "
        "index_mb = MatchIndex.nbytes(); maxrss_mb = process high-water mark so far",
        "naive": "per-pair Python loop timed on a sample and extrapolated linearly to the full size",
        "nearest_neighbors": "text only, no hard filters; timed on a sample of workers and extrapolated",
        "sizes": [asdict(row) for row in rows],
        "allocation": {"rows": [asdict(row) for row in allocation], **extra},
    }
    path = write_report("matching", report, args.json)
    err.print(f"results: {path}")


if __name__ == "__main__":
    main()
