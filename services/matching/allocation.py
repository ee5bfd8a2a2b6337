"""Capacity-aware allocation: assign workers to jobs so that no job gets more workers than its remaining
headcount, each worker gets at most one job (or none), and the total priority-weighted score is as large as
possible.

Why a min-cost flow: this is a transportation problem (workers supply 1, jobs take at most their headcount,
and a worker may stay unassigned), so it is a flow network: worker -> job arcs of capacity 1 costing minus the
score, worker -> sink arcs costing nothing (unassigned), job -> sink arcs of capacity the headcount. Flow
algorithms give integral optima by construction and OR-Tools' `SimpleMinCostFlow` (C++, cost scaling) solves
it in a fraction of the CPU an LP takes (bench/matching.py). Scores are scaled to integer micro-points, so the
optimum is exact to 1e-6 per pair.

The same problem is kept in three other forms to cross-check the flow in tests and the bench: `solver="lp"`,
the LP relaxation (its constraint matrix is totally unimodular, so HiGHS's vertex solution is integral);
`solver="matching"`, a minimum-weight full bipartite matching over per-headcount job slots plus one
"unassigned" slot per worker; and `solver="assignment"`, the same slots as a dense linear sum assignment. Every result is verified (capacities, one job per worker) whichever solved it.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
import scipy.sparse as sp
from ortools.graph.python import min_cost_flow
from scipy.optimize import linear_sum_assignment, linprog
from scipy.sparse.csgraph import min_weight_full_bipartite_matching

from .features import Match

Solver = Literal["flow", "lp", "matching", "assignment"]
SCORE_UNITS = 1_000_000  # integer cost units per score point for the flow


@dataclass(frozen=True)
class Allocation:
    assignments: list[Match]  # at most one per worker, at most the headcount per job
    unassigned: list[str]  # workers given no job, in input order
    total_score: float
    naive_total_score: float  # everyone takes their top-1, ignoring headcounts (not feasible)
    oversubscribed_jobs_naive: int  # jobs the naive choice would give more workers than their headcount
    oversubscribed_jobs: int  # the same count for this allocation: 0, verified
    fit_given_up: float  # naive_total_score - total_score: what respecting headcounts costs
    greedy_total_score: float  # best-score-first greedy under the same constraints, for comparison
    solver: str


class AllocationError(RuntimeError):
    """The solver failed or returned something that does not verify; never silently ignored."""


@dataclass(frozen=True)
class _Edges:
    workers: list[str]
    jobs: list[str]
    worker: np.ndarray  # per edge: index into workers
    job: np.ndarray  # per edge: index into jobs
    score: np.ndarray
    match: list[Match]
    capacity: np.ndarray  # per job


def _edges(candidates: Mapping[str, Sequence[Match]], capacity: Mapping[str, int]) -> _Edges:
    """Keep each worker's best match per job, and only edges that can help: positive score, job with room."""
    workers = list(candidates)
    job_index: dict[str, int] = {}
    best: dict[tuple[int, int], Match] = {}
    for w, person_id in enumerate(workers):
        for match in candidates[person_id]:
            if match.score <= 0 or capacity.get(match.job_id, 0) <= 0:
                continue
            j = job_index.setdefault(match.job_id, len(job_index))
            key = (w, j)
            if key not in best or match.score > best[key].score:
                best[key] = match
    keys = list(best)
    jobs = list(job_index)
    return _Edges(
        workers=workers,
        jobs=jobs,
        worker=np.array([w for w, _ in keys], dtype=np.int64),
        job=np.array([j for _, j in keys], dtype=np.int64),
        score=np.array([best[key].score for key in keys], dtype=np.float64),
        match=[best[key] for key in keys],
        capacity=np.array([max(0, int(capacity.get(job_id, 0))) for job_id in jobs], dtype=np.int64),
    )


def _solve_flow(edges: _Edges) -> np.ndarray:
    """Nodes: workers, then jobs, then the sink. Each worker supplies one unit, which reaches the sink through
    a job (earning its score) or directly (unassigned)."""
    n_edges, n_workers, n_jobs = len(edges.score), len(edges.workers), len(edges.jobs)
    sink = n_workers + n_jobs
    workers = np.arange(n_workers, dtype=np.int64)
    jobs = np.arange(n_jobs, dtype=np.int64)
    tails = np.concatenate([edges.worker, workers, n_workers + jobs])
    heads = np.concatenate([n_workers + edges.job, np.full(n_workers, sink), np.full(n_jobs, sink)])
    capacities = np.concatenate([np.ones(n_edges + n_workers, dtype=np.int64), edges.capacity])
    costs = np.concatenate(
        [-np.round(edges.score * SCORE_UNITS).astype(np.int64), np.zeros(n_workers + n_jobs, dtype=np.int64)]
    )
    flow = min_cost_flow.SimpleMinCostFlow()
    flow.add_arcs_with_capacity_and_unit_cost(tails, heads, capacities, costs)
    supplies = np.zeros(sink + 1, dtype=np.int64)
    supplies[:n_workers] = 1
    supplies[sink] = -n_workers
    flow.set_nodes_supplies(np.arange(sink + 1, dtype=np.int64), supplies)
    status = flow.solve()
    if status != flow.OPTIMAL:
        raise AllocationError(f"min-cost flow failed: status {status}")
    return np.flatnonzero(flow.flows(np.arange(n_edges, dtype=np.int64)) == 1)


def _solve_lp(edges: _Edges) -> np.ndarray:
    n_edges, n_workers, n_jobs = len(edges.score), len(edges.workers), len(edges.jobs)
    columns = np.repeat(np.arange(n_edges), 2)
    rows = np.empty(2 * n_edges, dtype=np.int64)
    rows[0::2] = edges.worker
    rows[1::2] = n_workers + edges.job
    a_ub = sp.csr_matrix((np.ones(2 * n_edges), (rows, columns)), shape=(n_workers + n_jobs, n_edges))
    b_ub = np.concatenate([np.ones(n_workers), edges.capacity.astype(np.float64)])
    for method in ("highs", "highs-ds"):  # HiGHS's choice; if that ever returns a non-vertex, dual simplex
        result = linprog(-edges.score, A_ub=a_ub, b_ub=b_ub, bounds=(0, 1), method=method)
        if result.status != 0:
            raise AllocationError(f"linprog failed: {result.message}")
        x = np.asarray(result.x, dtype=np.float64)
        if np.abs(x - np.round(x)).max(initial=0.0) <= 1e-6:
            return np.flatnonzero(np.round(x) == 1)
    raise AllocationError("the LP solution is not integral (expected a vertex of a unimodular problem)")


def _slots(edges: _Edges) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The assignment form: rows are workers; columns one slot per unit of usable headcount, then one
    "unassigned" slot per worker. Per cell (row, column, cost), costs (top - score) > 0 so that the
    minimum-cost full assignment is the maximum-score one; and the job of each headcount slot."""
    n_workers = len(edges.workers)
    demand = np.bincount(edges.job, minlength=len(edges.jobs))
    slots = np.minimum(edges.capacity, demand)  # more slots than candidates can never be used
    first_slot = np.concatenate([[0], np.cumsum(slots)[:-1]])
    total_slots = int(slots.sum())
    top = float(edges.score.max(initial=0.0)) + 1.0
    per_edge = slots[edges.job]
    edge_of = np.repeat(np.arange(len(edges.score)), per_edge)
    offset = np.arange(len(edge_of)) - np.repeat(np.cumsum(per_edge) - per_edge, per_edge)
    rows = np.concatenate([edges.worker[edge_of], np.arange(n_workers)])
    cols = np.concatenate([first_slot[edges.job[edge_of]] + offset, total_slots + np.arange(n_workers)])
    cost = np.concatenate([top - edges.score[edge_of], np.full(n_workers, top)])
    return rows, cols, cost, np.repeat(np.arange(len(edges.jobs)), slots)


def _chosen(edges: _Edges, col_of_row: np.ndarray, job_of_slot: np.ndarray) -> np.ndarray:
    """The edges an assignment of workers to slots picked."""
    assigned = np.flatnonzero(col_of_row < len(job_of_slot))
    n_jobs = max(1, len(edges.jobs))
    keys = edges.worker * n_jobs + edges.job  # unique per edge
    order = np.argsort(keys)
    wanted = assigned * n_jobs + job_of_slot[col_of_row[assigned]]
    return np.sort(order[np.searchsorted(keys, wanted, sorter=order)])


def _solve_matching(edges: _Edges) -> np.ndarray:
    """Sparse: a minimum-weight full bipartite matching over the slots."""
    rows, cols, cost, job_of_slot = _slots(edges)
    n_workers = len(edges.workers)
    graph = sp.csr_matrix((cost, (rows, cols)), shape=(n_workers, len(job_of_slot) + n_workers))
    _, col_of_row = min_weight_full_bipartite_matching(graph)
    return _chosen(edges, col_of_row, job_of_slot)


def _solve_assignment(edges: _Edges) -> np.ndarray:
    """Dense: scipy's `linear_sum_assignment` over the slots, every other cell forbidden. Workers x (slots +
    workers) float64 cells: a cross-check for tests and the bench, never for a province's numbers."""
    rows, cols, cost, job_of_slot = _slots(edges)
    n_workers = len(edges.workers)
    dense = np.full((n_workers, len(job_of_slot) + n_workers), np.inf)
    dense[rows, cols] = cost
    picked_rows, picked_cols = linear_sum_assignment(dense)
    col_of_row = np.full(n_workers, -1, dtype=np.int64)
    col_of_row[picked_rows] = picked_cols
    return _chosen(edges, col_of_row, job_of_slot)


def greedy(candidates: Mapping[str, Sequence[Match]], capacity: Mapping[str, int]) -> list[Match]:
    """Best score first, while the worker is free and the job has room: the obvious heuristic, for comparison."""
    left = {job_id: max(0, int(room)) for job_id, room in capacity.items()}
    taken: set[str] = set()
    chosen: list[Match] = []
    every = sorted(
        (m for matches in candidates.values() for m in matches if m.score > 0), key=lambda m: -m.score
    )
    for match in every:
        if match.person_id in taken or left.get(match.job_id, 0) <= 0:
            continue
        taken.add(match.person_id)
        left[match.job_id] -= 1
        chosen.append(match)
    return chosen


def oversubscribed(assigned: Sequence[Match], capacity: Mapping[str, int]) -> int:
    counts = Counter(match.job_id for match in assigned)
    return sum(1 for job_id, count in counts.items() if count > max(0, capacity.get(job_id, 0)))


def allocate(
    candidates: Mapping[str, Sequence[Match]], capacity: Mapping[str, int], solver: Solver = "flow"
) -> Allocation:
    """Maximise the total score subject to headcounts (`capacity`: job id -> remaining headcount; a job not in
    it has none) and one job per worker; a worker may stay unassigned. `candidates`: person id -> their matches
    (e.g. MatchIndex.top_k), whose scores already include the priority boosts."""
    edges = _edges(candidates, capacity)
    if not len(edges.score):
        chosen = np.zeros(0, dtype=np.int64)
    else:
        chosen = {
            "flow": _solve_flow,
            "lp": _solve_lp,
            "matching": _solve_matching,
            "assignment": _solve_assignment,
        }[solver](edges)
    assignments = [edges.match[i] for i in chosen.tolist()]
    per_worker = Counter(match.person_id for match in assignments)
    if any(count > 1 for count in per_worker.values()):
        raise AllocationError("a worker was assigned twice")
    over = oversubscribed(assignments, capacity)
    if over:
        raise AllocationError(f"{over} jobs over their headcount")
    naive = [max(matches, key=lambda m: m.score) for matches in candidates.values() if matches]
    naive = [match for match in naive if match.score > 0]
    total = float(edges.score[chosen].sum())
    naive_total = float(sum(match.score for match in naive))
    return Allocation(
        assignments=sorted(assignments, key=lambda m: (m.person_id, m.job_id)),
        unassigned=[person_id for person_id in edges.workers if person_id not in per_worker],
        total_score=total,
        naive_total_score=naive_total,
        oversubscribed_jobs_naive=oversubscribed(naive, capacity),
        oversubscribed_jobs=over,
        fit_given_up=naive_total - total,
        greedy_total_score=float(sum(match.score for match in greedy(candidates, capacity))),
        solver=solver,
    )
