"""Offline evaluation on synthetic data with planted preferences: does the ranker find what workers want?

Each synthetic worker has a hidden true occupation and city (services/matching/synthetic.py); their visible
intention only hints at them (sometimes a neighbouring occupation, sometimes keywords only, sometimes several or
any cities). A job is *relevant* to a worker when it is of the true occupation, in the true city, pays at least
the worker's minimum (mid of its range; no minimum: any pay) and passes the worker's hard filters.

Every method ranks the same eligible jobs (the ranker's hard filters), so the comparison is about ordering only:
- ranker: MatchIndex.top_k_arrays;
- random: a random order;
- same city, highest pay: the highest `salary_max` first (eligible jobs are already in acceptable cities);
- ideal: relevant jobs first, the upper bound the data allows (few workers have 10 relevant jobs).

Precision@10 and NDCG@10 (binary gains) are averaged over workers with at least one relevant job; coverage is
the share of open jobs that appear in at least one worker's top 10.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import date, timedelta

import numpy as np

from . import congestion, learning, text_methods
from .features import JobFeatures, WorkerFeatures
from .ranker import FACTORS, MatchIndex
from .synthetic import Planted, make_jobs, make_workers_with_truth

TODAY = date(2026, 12, 1)
K = 10


@dataclass(frozen=True)
class EvalRow:
    method: str
    precision_at_10: float
    ndcg_at_10: float
    coverage: float
    workers: int  # workers with at least one relevant job (the averages are over these)
    mean_relevant: float  # relevant jobs per such worker


def _planted(
    n_workers: int, n_jobs: int, seed: int
) -> tuple[list[JobFeatures], list[WorkerFeatures], list[Planted], dict[str, JobFeatures], MatchIndex]:
    """The planted set every evaluation here starts from: jobs, workers and their true preferences, indexed."""
    jobs = make_jobs(n_jobs, seed, TODAY)
    workers, truths = make_workers_with_truth(n_workers, seed, TODAY)
    index = MatchIndex()
    index.upsert_jobs(jobs)
    index.upsert_workers(workers)
    return jobs, workers, truths, {job.id: job for job in jobs}, index


def _relevant(
    worker: WorkerFeatures, truth: Planted, eligible: list[str], jobs: dict[str, JobFeatures]
) -> set[str]:
    minimum = worker.min_salary or 0
    return {
        job_id
        for job_id in eligible
        if jobs[job_id].occupation_code == truth.occupation_code
        and jobs[job_id].city_code == truth.city_code
        and (jobs[job_id].salary_min + jobs[job_id].salary_max) / 2 >= minimum
    }


def _ndcg(ranked: Sequence[str], relevant: set[str], k: int = K) -> float:
    dcg = sum(1.0 / math.log2(i + 2) for i, job_id in enumerate(ranked[:k]) if job_id in relevant)
    ideal = sum(1.0 / math.log2(i + 2) for i in range(min(k, len(relevant))))
    return dcg / ideal if ideal else 0.0


def _score(method: str, lists: dict[str, list[str]], relevant: dict[str, set[str]], n_open: int) -> EvalRow:
    judged = [person_id for person_id, items in relevant.items() if items]
    precision = [len(set(lists[p][:K]) & relevant[p]) / K for p in judged]
    ndcg = [_ndcg(lists[p], relevant[p]) for p in judged]
    shown = {job_id for items in lists.values() for job_id in items[:K]}
    return EvalRow(
        method=method,
        precision_at_10=float(np.mean(precision)) if precision else 0.0,
        ndcg_at_10=float(np.mean(ndcg)) if ndcg else 0.0,
        coverage=len(shown) / n_open if n_open else 0.0,
        workers=len(judged),
        mean_relevant=float(np.mean([len(relevant[p]) for p in judged])) if judged else 0.0,
    )


def evaluate(n_workers: int = 2000, n_jobs: int = 1000, seed: int = 7) -> list[EvalRow]:
    """The ranker against random and "same city, highest pay" (and the ideal order) on planted data."""
    jobs, workers, truths, by_id, index = _planted(n_workers, n_jobs, seed)
    eligible = {worker.id: index.eligible_jobs(worker.id, TODAY) for worker in workers}
    relevant = {
        worker.id: _relevant(worker, truth, eligible[worker.id], by_id)
        for worker, truth in zip(workers, truths, strict=True)
    }
    n_open = sum(
        1 for job in jobs if job.open and job.headcount_left > 0 and (job.valid_until or TODAY) >= TODAY
    )

    top = index.top_k_arrays([w.id for w in workers], K, TODAY)
    ranker = {
        person_id: [job_id for job_id, _ in top.jobs_for(i)] for i, person_id in enumerate(top.person_ids)
    }
    rng = np.random.default_rng(seed)
    randomly = {p: [items[i] for i in rng.permutation(len(items))[:K]] for p, items in eligible.items()}

    def pay_order(job_id: str) -> tuple[int, int, str]:
        job = by_id[job_id]
        return (-job.salary_max, -job.salary_min, job_id)

    by_pay = {p: sorted(items, key=pay_order)[:K] for p, items in eligible.items()}

    def ideal_order(person_id: str) -> Callable[[str], tuple[bool, tuple[int, int, str]]]:
        return lambda job_id: (job_id not in relevant[person_id], pay_order(job_id))

    ideal = {p: sorted(items, key=ideal_order(p))[:K] for p, items in eligible.items()}
    return [
        _score("ranker", ranker, relevant, n_open),
        _score("random", randomly, relevant, n_open),
        _score("same city, highest pay", by_pay, relevant, n_open),
        _score("ideal (upper bound)", ideal, relevant, n_open),
    ]


@dataclass(frozen=True)
class SpreadRow:
    when: str
    precision_at_10: float
    ndcg_at_10: float
    figures: congestion.ExposureFigures


def evaluate_spread(n_workers: int = 4000, n_jobs: int = 1000, seed: int = 7) -> list[SpreadRow]:
    """Recommendations before and after spreading them by the places left (services/matching/congestion.py):
    exposure per place (Gini, the share beyond targets, coverage) and the relevance given up (P@10 and NDCG@10
    against the planted preferences, and the mean fit shown)."""
    _, workers, truths, by_id, index = _planted(n_workers, n_jobs, seed)
    relevant = {
        worker.id: _relevant(worker, truth, index.eligible_jobs(worker.id, TODAY), by_id)
        for worker, truth in zip(workers, truths, strict=True)
    }
    planned = congestion.spread(index, TODAY, k=K)
    index.set_spread(planned.taken)
    rows = []
    for when, figures, spread in (
        ("before", planned.before, None),
        ("after", planned.after, index.spread_array()),
    ):
        top = index.top_k_arrays([w.id for w in workers], K, TODAY, spread=spread)
        lists = {p: [job_id for job_id, _ in top.jobs_for(i)] for i, p in enumerate(top.person_ids)}
        scored = _score(when, lists, relevant, figures.jobs)
        rows.append(SpreadRow(when, scored.precision_at_10, scored.ndcg_at_10, figures))
    return rows


def format_table(rows: Sequence[EvalRow]) -> str:
    """A plain-text table (logs, tests); eastwest/eval_cli.py prints the same rows with rich."""
    header = (
        f"{'method':<24} {'P@10':>7} {'NDCG@10':>8} {'coverage':>9} {'workers':>8} {'relevant/worker':>16}"
    )
    lines = [header, "-" * len(header)]
    for row in rows:
        lines.append(
            f"{row.method:<24} {row.precision_at_10:>7.3f} {row.ndcg_at_10:>8.3f} {row.coverage:>9.1%} "
            f"{row.workers:>8} {row.mean_relevant:>16.2f}"
        )
    return "\n".join(lines)


# --- learning from outcomes ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Outcome:
    person_id: str
    job_id: str
    kept: bool  # kept 90 days (True) or declined / ended early (False)
    on: date  # when the outcome became known


def make_outcomes(
    index: MatchIndex,
    workers: Sequence[WorkerFeatures],
    truths: Sequence[Planted],
    jobs: dict[str, JobFeatures],
    seed: int = 7,
    per_worker: int = 3,
) -> list[Outcome]:
    """A platform's history on planted data: each worker applied to a few of the jobs shown to them (mostly from
    the top of their list, one at random) and stayed, or not, by their true preference, which the visible
    features only hint at: the true trade and city matter most, then pay against their minimum and a dormitory
    when they need one."""
    rng = np.random.default_rng(seed + 3)
    outcomes: list[Outcome] = []
    for worker, truth in zip(workers, truths, strict=True):
        eligible = index.eligible_jobs(worker.id, TODAY)
        if not eligible:
            continue
        shown = [m.job_id for m in index.recommend(worker.id, 10, TODAY)]
        picks = list(dict.fromkeys([*shown[: per_worker - 1], eligible[int(rng.integers(len(eligible)))]]))
        for job_id in picks:
            job = jobs[job_id]
            pays = (job.salary_min + job.salary_max) / 2 >= (worker.min_salary or 0)
            housed = job.dormitory or not worker.needs_dormitory
            logit = (
                -2.2
                + 2.0 * (job.occupation_code == truth.occupation_code)
                + 1.0 * (job.city_code == truth.city_code)
                + 1.6 * pays
                + 1.2 * housed
            )
            kept = bool(rng.random() < 1.0 / (1.0 + math.exp(-logit)))
            outcomes.append(
                Outcome(worker.id, job_id, kept, TODAY - timedelta(days=int(rng.integers(1, 720))))
            )
    return outcomes


@dataclass(frozen=True)
class LearningRow:
    weights: str  # "hand-set" or "learned"
    factor_weights: dict[str, float]
    outcome_auc: float | None  # on the newer outcomes, fitted on the older
    candidate_auc: float  # per job, relevant workers above the others, averaged over jobs
    precision_at_10: float
    ndcg_at_10: float


def _candidate_auc(
    index: MatchIndex, workers: Sequence[WorkerFeatures], relevant: dict[str, set[str]]
) -> float:
    """For each job with relevant and other eligible workers: the ROC AUC of its candidates' scores."""
    fits: dict[str, set[str]] = {}
    for person_id, job_ids in relevant.items():
        for job_id in job_ids:
            fits.setdefault(job_id, set()).add(person_id)
    values = []
    for job_id, fitting in fits.items():
        ranked = index.candidates(job_id, len(workers), TODAY)
        labels = np.array([m.person_id in fitting for m in ranked])
        if labels.any() and not labels.all():
            values.append(learning.auc(np.array([m.score for m in ranked]), labels))
    return float(np.mean([v for v in values if v is not None])) if values else 0.0


def evaluate_learning(n_workers: int = 4000, n_jobs: int = 1000, seed: int = 7) -> list[LearningRow]:
    """Hand-set against learned weights: fitted on the outcomes of one half of the workers, judged on the newer
    outcomes (ROC AUC) and on the other half's planted preferences (per-job candidate AUC, P@10, NDCG@10)."""
    jobs, workers, truths, by_id, index = _planted(n_workers, n_jobs, seed)
    half = n_workers // 2
    outcomes = make_outcomes(index, workers[:half], truths[:half], by_id, seed)
    x = index.factors([o.person_id for o in outcomes], [o.job_id for o in outcomes])
    y = np.array([o.kept for o in outcomes])
    hand = index.weights
    fitted = learning.compare(x, y, [o.on for o in outcomes], hand)
    judged, judged_truths = workers[half:], truths[half:]
    relevant = {
        worker.id: _relevant(worker, truth, index.eligible_jobs(worker.id, TODAY), by_id)
        for worker, truth in zip(judged, judged_truths, strict=True)
    }
    rows = []
    for name, weights, outcome_auc in (
        ("hand-set", hand, fitted.auc_hand),
        ("learned", replace(hand, **fitted.weights), fitted.auc_learned),
    ):
        index.set_weights(weights)
        top = index.top_k_arrays([w.id for w in judged], K, TODAY)
        lists = {p: [job_id for job_id, _ in top.jobs_for(i)] for i, p in enumerate(top.person_ids)}
        scored = _score(name, lists, relevant, len(jobs))
        rows.append(
            LearningRow(
                weights=name,
                factor_weights={f: round(getattr(weights, f), 3) for f in FACTORS},
                outcome_auc=outcome_auc,
                candidate_auc=_candidate_auc(index, judged, relevant),
                precision_at_10=scored.precision_at_10,
                ndcg_at_10=scored.ndcg_at_10,
            )
        )
    index.set_weights(hand)
    return rows


def evaluate_text(
    n_workers: int = 2000, n_jobs: int = 1000, seed: int = 7
) -> list[text_methods.TextMethodRow]:
    """The text methods of services/matching/text_methods.py on the planted set, over the same eligible pairs."""
    jobs, workers, truths, by_id, index = _planted(n_workers, n_jobs, seed)
    column = {job.id: j for j, job in enumerate(jobs)}
    eligible = np.zeros((len(workers), len(jobs)), dtype=np.bool_)
    relevant = np.zeros_like(eligible)
    for w, (worker, truth) in enumerate(zip(workers, truths, strict=True)):
        allowed = index.eligible_jobs(worker.id, TODAY)
        eligible[w, [column[job_id] for job_id in allowed]] = True
        relevant[w, [column[job_id] for job_id in _relevant(worker, truth, allowed, by_id)]] = True
    return text_methods.compare(index, workers, jobs, eligible, relevant, TODAY)
