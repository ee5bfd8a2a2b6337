"""Allocation: never over a headcount, one job per worker, optimal (beats or equals greedy), unassigned allowed."""

from __future__ import annotations

import itertools
from collections import Counter
from datetime import date

import numpy as np
import pytest

from services.matching.allocation import Solver, allocate, greedy
from services.matching.features import Match
from services.matching.ranker import MatchIndex
from services.matching.synthetic import make_jobs, make_workers

TODAY = date(2026, 12, 1)
SOLVERS: tuple[Solver, ...] = ("flow", "lp", "matching", "assignment")


def m(person_id: str, job_id: str, score: float) -> Match:
    return Match(person_id=person_id, job_id=job_id, score=score, reasons=())


def check_feasible(assignments: list[Match], capacity: dict[str, int]) -> None:
    per_worker = Counter(a.person_id for a in assignments)
    per_job = Counter(a.job_id for a in assignments)
    assert all(count == 1 for count in per_worker.values())
    assert all(count <= capacity.get(job_id, 0) for job_id, count in per_job.items())


@pytest.mark.parametrize("solver", SOLVERS)
def test_beats_greedy_where_greedy_is_short_sighted(solver: Solver) -> None:
    candidates = {"w1": [m("w1", "A", 0.9), m("w1", "B", 0.8)], "w2": [m("w2", "A", 0.85)]}
    capacity = {"A": 1, "B": 1}
    result = allocate(candidates, capacity, solver)
    assert {(a.person_id, a.job_id) for a in result.assignments} == {("w1", "B"), ("w2", "A")}
    assert result.total_score == pytest.approx(1.65)
    assert result.greedy_total_score == pytest.approx(0.9)  # greedy gives A to w1 and leaves w2 without a job
    assert result.naive_total_score == pytest.approx(1.75)  # both take A: infeasible
    assert result.oversubscribed_jobs_naive == 1
    assert result.oversubscribed_jobs == 0
    assert result.fit_given_up == pytest.approx(0.1)
    assert result.unassigned == []


@pytest.mark.parametrize("solver", SOLVERS)
def test_unassigned_when_no_room_no_candidates_or_no_gain(solver: Solver) -> None:
    candidates = {
        "full": [m("full", "F", 0.9)],  # F has no headcount left
        "nobody": [],
        "negative": [m("negative", "A", -0.2)],  # staying unassigned is better
        "unknown": [m("unknown", "X", 0.5)],  # X not in capacity: no headcount
        "fits": [m("fits", "A", 0.4)],
    }
    result = allocate(candidates, {"F": 0, "A": 3}, solver)
    assert [(a.person_id, a.job_id) for a in result.assignments] == [("fits", "A")]
    assert result.unassigned == ["full", "nobody", "negative", "unknown"]


@pytest.mark.parametrize("solver", SOLVERS)
def test_many_workers_one_job_gets_its_headcount_best_first(solver: Solver) -> None:
    candidates = {f"w{i}": [m(f"w{i}", "A", i / 10)] for i in range(1, 8)}
    result = allocate(candidates, {"A": 3}, solver)
    assert sorted(a.person_id for a in result.assignments) == ["w5", "w6", "w7"]
    assert result.oversubscribed_jobs_naive == 1 and result.oversubscribed_jobs == 0
    assert len(result.unassigned) == 4


def brute_force(candidates: dict[str, list[Match]], capacity: dict[str, int]) -> float:
    workers = list(candidates)
    options = [[None, *[match for match in candidates[w] if match.score > 0]] for w in workers]
    best = 0.0
    for choice in itertools.product(*options):
        chosen = [match for match in choice if match is not None]
        per_job = Counter(match.job_id for match in chosen)
        if all(count <= capacity.get(job_id, 0) for job_id, count in per_job.items()):
            best = max(best, sum(match.score for match in chosen))
    return best


@pytest.mark.parametrize("seed", range(25))
def test_optimal_on_small_random_instances(seed: int) -> None:
    rng = np.random.default_rng(seed)
    jobs = [f"J{j}" for j in range(3)]
    capacity = {job_id: int(rng.integers(0, 3)) for job_id in jobs}
    candidates = {
        f"w{w}": [
            m(f"w{w}", job_id, round(float(rng.uniform(-0.2, 1.0)), 3))
            for job_id in jobs
            if rng.random() < 0.8
        ]
        for w in range(5)
    }
    optimum = brute_force(candidates, capacity)
    for solver in SOLVERS:
        result = allocate(candidates, capacity, solver)
        check_feasible(result.assignments, capacity)
        assert result.total_score == pytest.approx(optimum, abs=1e-9)
        assert result.total_score >= result.greedy_total_score - 1e-9
        assert result.total_score <= result.naive_total_score + 1e-9
        assert set(result.unassigned) | {a.person_id for a in result.assignments} == set(candidates)


def test_on_ranker_output_never_exceeds_headcount() -> None:
    jobs = make_jobs(150, seed=5, today=TODAY)
    workers = make_workers(1500, seed=5, today=TODAY)
    index = MatchIndex()
    index.upsert_jobs(jobs)
    index.upsert_workers(workers)
    candidates = index.top_k(None, 10, TODAY)
    capacity = {job.id: job.headcount_left for job in jobs}
    results = {solver: allocate(candidates, capacity, solver) for solver in SOLVERS}
    for result in results.values():
        check_feasible(result.assignments, capacity)
        assert result.oversubscribed_jobs == 0
        assert result.oversubscribed_jobs_naive > 0  # the situation allocation exists for
        assert result.total_score >= result.greedy_total_score - 1e-6
        assert result.fit_given_up == pytest.approx(result.naive_total_score - result.total_score)
        assert all(a.reasons for a in result.assignments)  # reasons travel with the assignment
    assert results["lp"].total_score == pytest.approx(results["matching"].total_score, abs=1e-6)
    assert results["assignment"].total_score == pytest.approx(results["matching"].total_score, abs=1e-6)
    # the flow's costs are whole micro-points: the same optimum within half a micro-point a worker
    assert results["flow"].total_score == pytest.approx(results["lp"].total_score, abs=len(candidates) * 1e-6)


def test_greedy_respects_capacity_too() -> None:
    candidates = {f"w{i}": [m(f"w{i}", "A", 0.5), m(f"w{i}", "B", 0.4)] for i in range(5)}
    chosen = greedy(candidates, {"A": 2, "B": 1})
    check_feasible(chosen, {"A": 2, "B": 1})
    assert len(chosen) == 3


def test_empty() -> None:
    result = allocate({}, {})
    assert result.assignments == [] and result.unassigned == [] and result.total_score == 0.0
