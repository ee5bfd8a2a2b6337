"""The ranker side by side with two text-only nearest-neighbour baselines, on the same vectors and workers.

For each size (default 20k x 20k, 100k x 20k and 100k x 200k: workers x jobs, services/matching/synthetic.py with
planted preferences), every looking worker's top 20 by:
- ranker: MatchIndex.top_k_arrays (hard filters first, per city, the full score, both cores);
- sklearn: NearestNeighbors(metric="cosine", algorithm="brute", n_jobs=threads) on the index's tf-idf vectors,
  over-fetching `--fetch` jobs per worker by text, then the same hard filters (MatchIndex.pairs_pass), best 20;
- sparse_dot_topn: sp_matmul_topn on the same vectors (n_threads=threads), the same over-fetch and filters.

Each run is a forked child of a process that holds the built index and the vectors, so every method starts from
the same memory: CPU seconds are the child's user + system time (all its threads, from wait4), peak memory its
high-water RSS above the parent's RSS at the fork (C++ and BLAS buffers included). Rounds interleave the methods,
rotating their order; the table shows each method's best round. Quality: P@10 and NDCG@10 against the planted
preferences (services/matching/evaluation.py: the true occupation in the true city at the wanted pay, among the
jobs that pass the hard filters), and the share of ready workers left with fewer than 20 jobs (over-fetching by
text can run short where the filters reject most of what text likes).

    .venv/bin/python -m bench.matching_versus                              # the three sizes, 2 rounds
    .venv/bin/python -m bench.matching_versus --sizes 20000x20000 --rounds 3
"""

from __future__ import annotations

import argparse
import functools
import math
import os
import sys
import tempfile
import time
import traceback
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
from rich.console import Console
from rich.table import Table

ROOT = Path(__file__).resolve().parent.parent
if __package__ in (None, ""):  # `python bench/matching_versus.py`
    sys.path.insert(0, str(ROOT))

from bench.runner import machine_info, write_report  # noqa: E402
from services.matching.ranker import MatchIndex  # noqa: E402
from services.matching.synthetic import Planted, make_jobs, make_workers_with_truth  # noqa: E402

console = Console()
if not console.is_terminal:
    console.width = 200
err = Console(stderr=True)
TODAY = date(2026, 12, 1)
I64 = npt.NDArray[np.int64]
METHODS = ("ranker", "sklearn", "sparse_dot_topn")


@dataclass
class Run:
    cpu_s: float
    wall_s: float
    peak_mb: float


@dataclass
class MethodRow:
    method: str
    runs: list[Run] = field(default_factory=list)
    precision_at_10: float = 0.0
    ndcg_at_10: float = 0.0
    short_lists: float = 0.0  # share of ready workers with fewer than k jobs

    def best(self) -> Run:
        return min(self.runs, key=lambda run: run.cpu_s)


@dataclass
class SizeRow:
    workers: int
    jobs: int
    open_jobs: int = 0
    ready_workers: int = 0
    build_s: float = 0.0
    methods: list[MethodRow] = field(default_factory=list)


# ------------------------------------------------------------------------------------------------- measuring


def _rss_mb() -> float:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def in_child(work: Callable[[], I64], out: Path) -> Run:
    """Run `work` in a forked child that saves its result to `out`; the child's CPU, wall and peak memory."""
    before = _rss_mb()
    started = time.perf_counter()
    pid = os.fork()
    if pid == 0:  # the child: never return into the parent's code
        code = 1
        try:
            np.save(out, work())
            code = 0
        except BaseException:
            traceback.print_exc()
        finally:
            os._exit(code)
    _, status, usage = os.wait4(pid, 0)
    wall = time.perf_counter() - started
    if os.waitstatus_to_exitcode(status) != 0:
        raise RuntimeError(f"the child for {out.name} failed")
    return Run(usage.ru_utime + usage.ru_stime, wall, max(0.0, usage.ru_maxrss / 1024 - before))


def filtered(index: MatchIndex, w_rows: I64, fetched: I64, k: int) -> I64:
    """Of each worker's fetched job rows (best first, -1 for none), the first `k` that pass the hard filters."""
    n, fetch = fetched.shape
    ok = fetched >= 0
    flat = np.flatnonzero(ok)
    passing = np.zeros(n * fetch, dtype=np.bool_)
    passing[flat] = index.pairs_pass(np.repeat(w_rows, fetch)[flat], fetched.ravel()[flat], TODAY)
    passing = passing.reshape(n, fetch)
    rank = np.cumsum(passing, axis=1) - 1
    keep = passing & (rank < k)
    top = np.full((n, k), -1, dtype=np.int64)
    rows, cols = np.nonzero(keep)
    top[rows, rank[rows, cols]] = fetched[rows, cols]
    return top


# ----------------------------------------------------------------------------------------------- the methods


@dataclass
class Inputs:
    index: MatchIndex
    person_ids: list[str]
    w_rows: I64
    job_rows: I64  # the index row of each column of the job matrix (open jobs)
    workers: Any  # CSR, workers x n-grams, L2-normalised
    jobs: Any  # CSR, open jobs x n-grams
    jobs_t: Any  # CSR, n-grams x open jobs


def run_ranker(inputs: Inputs, k: int, fetch: int, threads: int) -> I64:
    top = inputs.index.top_k_arrays(inputs.person_ids, k, TODAY, threads=threads)
    return top.job_rows.astype(np.int64)


def run_sklearn(inputs: Inputs, k: int, fetch: int, threads: int) -> I64:
    from sklearn.neighbors import NearestNeighbors

    neighbours = NearestNeighbors(n_neighbors=fetch, metric="cosine", algorithm="brute", n_jobs=threads)
    columns = neighbours.fit(inputs.jobs).kneighbors(inputs.workers, return_distance=False)
    return filtered(inputs.index, inputs.w_rows, inputs.job_rows[columns], k)


def run_sparse_dot_topn(inputs: Inputs, k: int, fetch: int, threads: int) -> I64:
    from sparse_dot_topn import sp_matmul_topn

    product = sp_matmul_topn(inputs.workers, inputs.jobs_t, top_n=fetch, sort=True, n_threads=threads)
    n = product.shape[0]
    counts = np.diff(product.indptr)
    place = np.arange(product.nnz) - np.repeat(product.indptr[:-1], counts)
    fetched = np.full((n, fetch), -1, dtype=np.int64)
    fetched[np.repeat(np.arange(n), counts), place] = inputs.job_rows[product.indices]
    return filtered(inputs.index, inputs.w_rows, fetched, k)


RUNNERS: dict[str, Callable[[Inputs, int, int, int], I64]] = {
    "ranker": run_ranker,
    "sklearn": run_sklearn,
    "sparse_dot_topn": run_sparse_dot_topn,
}


# -------------------------------------------------------------------------------------------------- quality


def relevant_keys(
    inputs: Inputs, truths: Sequence[Planted], minimum: npt.NDArray[np.float64], by_row: dict[int, Any]
) -> tuple[I64, int]:
    """Sorted keys (worker position x n_slots + job row) of each worker's relevant jobs: the planted occupation
    in the planted city, paying at least the worker's minimum, passing the hard filters."""
    groups: dict[tuple[str, str], list[int]] = {}
    for row in inputs.job_rows.tolist():
        job = by_row[row]
        groups.setdefault((job.occupation_code, job.city_code), []).append(row)
    arrays = {key: np.asarray(rows, dtype=np.int64) for key, rows in groups.items()}
    empty = np.zeros(0, dtype=np.int64)
    candidates = [arrays.get((t.occupation_code, t.city_code), empty) for t in truths]
    positions = np.repeat(np.arange(len(truths)), [c.size for c in candidates])
    rows = np.concatenate(candidates) if candidates else empty
    slots = int(max(by_row)) + 1
    mid_of = np.zeros(slots)
    mid_of[list(by_row)] = [(j.salary_min + j.salary_max) / 2 for j in by_row.values()]
    keep = (mid_of[rows] >= minimum[positions]) & inputs.index.pairs_pass(
        inputs.w_rows[positions], rows, TODAY
    )
    return np.sort(positions[keep] * slots + rows[keep]), slots


def quality(
    top: I64, relevant: I64, slots: int, ready: npt.NDArray[np.bool_], k: int = 10
) -> tuple[float, ...]:
    """P@k and NDCG@k over workers with a relevant job; share of ready workers with fewer than 20 jobs."""
    n = top.shape[0]
    per_worker = np.bincount(relevant // slots, minlength=n)
    judged = per_worker > 0
    head = top[:, :k]
    keys = np.arange(n)[:, None] * slots + head
    hit = (head >= 0) & np.isin(keys, relevant)
    gains = 1.0 / np.log2(np.arange(k) + 2)
    dcg = (hit * gains).sum(axis=1)
    ideal = np.cumsum(gains)[np.minimum(per_worker, k) - 1]
    ndcg = np.where(judged, dcg / np.where(judged, ideal, 1.0), 0.0)
    precision = hit.sum(axis=1) / k
    short = ((top >= 0).sum(axis=1) < top.shape[1]) & ready
    return (
        float(precision[judged].mean()),
        float(ndcg[judged].mean()),
        float(short.sum() / max(1, ready.sum())),
    )


# ----------------------------------------------------------------------------------------------------- sizes


def run_size(args: argparse.Namespace, n_workers: int, n_jobs: int, scratch: Path) -> SizeRow:
    row = SizeRow(workers=n_workers, jobs=n_jobs)
    err.print(f"[bold]{n_workers:,} workers x {n_jobs:,} jobs[/]")
    jobs = make_jobs(n_jobs, args.seed, TODAY)
    workers, truths = make_workers_with_truth(n_workers, args.seed, TODAY)
    started = time.perf_counter()
    index = MatchIndex()
    for start in range(0, n_workers, 100_000):
        index.upsert_workers(workers[start : start + 100_000])
    for start in range(0, n_jobs, 50_000):
        index.upsert_jobs(jobs[start : start + 50_000])
    index.maintain(force_refit=True)
    row.build_s = time.perf_counter() - started
    job_ids, job_matrix = index.job_vectors()
    person_ids = [w.id for w in workers]
    w_rows, job_rows = index.rows_of(person_ids, job_ids)
    worker_matrix = index.worker_vectors(person_ids)
    inputs = Inputs(index, person_ids, w_rows, job_rows, worker_matrix, job_matrix, job_matrix.T.tocsr())
    jobs_by_id = {j.id: j for j in jobs}
    by_row = {row: jobs_by_id[job_id] for row, job_id in zip(job_rows.tolist(), job_ids, strict=True)}
    row.open_jobs = len(job_ids)
    minimum = np.array([w.min_salary or 0 for w in workers], dtype=np.float64)
    relevant, slots = relevant_keys(inputs, truths, minimum, by_row)
    ready_top = index.top_k_arrays(person_ids, 1, TODAY)
    ready = ready_top.job_rows[:, 0] >= 0
    row.ready_workers = int(ready.sum())
    del workers, jobs, jobs_by_id, truths, ready_top
    err.print(
        f"[dim]  built in {row.build_s:.1f} s; {row.open_jobs:,} open jobs, {row.ready_workers:,} ready workers[/]"
    )

    rows = {name: MethodRow(name) for name in args.methods}
    results: dict[str, I64] = {}
    for round_ in range(args.rounds):
        order = args.methods[round_ % len(args.methods) :] + args.methods[: round_ % len(args.methods)]
        for name in order:
            out = scratch / f"{name}.npy"
            run = in_child(functools.partial(RUNNERS[name], inputs, args.k, args.fetch, args.threads), out)
            rows[name].runs.append(run)
            results[name] = np.load(out)
            err.print(
                f"[dim]  round {round_ + 1} {name}: {run.cpu_s:.1f} s CPU, {run.wall_s:.1f} s wall, {run.peak_mb:,.0f} MB[/]"
            )
    for name, method in rows.items():
        method.precision_at_10, method.ndcg_at_10, method.short_lists = quality(
            results[name], relevant, slots, ready
        )
    row.methods = list(rows.values())
    return row


def print_table(rows: Sequence[SizeRow], args: argparse.Namespace) -> None:
    table = Table(
        title=f"every worker's top {args.k}: the ranker against text-only baselines over-fetching {args.fetch} "
        f"then filtered (best of {args.rounds} interleaved rounds, {args.threads} threads each)"
    )
    for column in (
        "workers x jobs",
        "method",
        "CPU s",
        "wall s",
        "peak MB",
        "CPU vs ranker",
        "P@10",
        "NDCG@10",
        "short lists",
    ):
        table.add_column(column, justify="left" if column in ("method", "workers x jobs") else "right")
    for size in rows:
        ranker = next((m for m in size.methods if m.method == "ranker"), None)
        for method in size.methods:
            best = method.best()
            ratio = best.cpu_s / ranker.best().cpu_s if ranker else math.nan
            table.add_row(
                f"{size.workers:,} x {size.jobs:,}",
                method.method,
                f"{best.cpu_s:.2f}",
                f"{best.wall_s:.2f}",
                f"{best.peak_mb:,.0f}",
                f"{ratio:.1f}x",
                f"{method.precision_at_10:.3f}",
                f"{method.ndcg_at_10:.3f}",
                f"{method.short_lists:.1%}",
            )
    console.print(table)


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--sizes", default="20000x20000,100000x20000,100000x200000", help="workers x jobs, comma-separated"
    )
    parser.add_argument("--methods", default=",".join(METHODS))
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--k", type=int, default=20)
    parser.add_argument(
        "--fetch", type=int, default=200, help="jobs the baselines fetch by text before filtering"
    )
    parser.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--json", help="result file (default bench/results/matching_versus-<timestamp>.json)")
    args = parser.parse_args(argv)
    args.methods = [m for m in args.methods.split(",") if m]
    unknown = set(args.methods) - set(METHODS)
    if unknown:
        parser.error(f"unknown methods: {', '.join(sorted(unknown))}")
    return args


def main(argv: Sequence[str] | None = None) -> None:
    args = parse_args(argv)
    machine = machine_info(("numpy", "scipy", "scikit-learn", "sparse-dot-topn"))
    sizes = [tuple(int(v) for v in size.split("x")) for size in args.sizes.split(",") if size]
    rows = []
    with tempfile.TemporaryDirectory() as scratch:
        for n_workers, n_jobs in sizes:
            rows.append(run_size(args, n_workers, n_jobs, Path(scratch)))
            print_table(rows, args)
    report = {
        "benchmark": "matching_versus",
        "machine": {**machine, "loadavg_at_end": os.getloadavg()},
        "options": vars(args),
        "measure": "each run in a forked child: CPU = its user + system seconds (all threads), peak_mb = its "
        "high-water RSS above the parent's RSS at the fork",
        "sizes": [asdict(row) for row in rows],
    }
    path = write_report("matching_versus", report, args.json)
    err.print(f"results: {path}")


if __name__ == "__main__":
    main()
