"""Spreading recommendations over jobs in proportion to the headcount they have left (after LinkedIn's LiJAR:
"job application redistribution"): without it, every welder in Suzhou is shown the same three best-paid jobs,
which fill at once, while jobs as good for most of them are seen by nobody.

How: rank every worker who is looking (their top `k`, as stations see them), count each job's exposure
(position-weighted, 1/log2(rank + 2), as attention falls down a list) and compare it with what the job needs:
`PER_PLACE` exposures per place left. A few rounds of dual ascent set what is taken off each job's score: raised
(on a log scale) while a job is over its target, lowered while under, never below 0 nor above `MAX_TAKEN`, so
relevance still ranks first and a job is only moved down among comparable ones. The amount taken is a visible
reason on every recommendation it touches ("该岗位近期推荐人数已多于剩余名额"), so a score is still the sum of its
reasons. Allocation does not use it: it spreads workers by the headcounts themselves.

The figures before and after (coverage, the Gini of exposure per place, the share of exposure beyond the targets, and the
mean fit of what is shown: the relevance given up) are what `eastwest eval matching` prints and what the service
exports as gauges after each round.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import numpy as np
import numpy.typing as npt

from .ranker import MatchIndex, TopK

F64 = npt.NDArray[np.float64]

PER_PLACE = 10.0  # exposures a job wants for each place it has left
STEP = 0.02  # score points per doubling of a job's exposure over its target, per round
MAX_TAKEN = 0.15  # never more off a score than this (a fitting job scores about 0.3 to 1)
ROUNDS = 6
K = 20


@dataclass(frozen=True)
class ExposureFigures:
    jobs: int  # open jobs
    shown: float  # share of open jobs in someone's top k
    headcount_shown: float  # share of the places left that are in jobs someone is shown
    gini: float  # Gini of exposure per place over open jobs: 0 spread evenly, 1 all on one job
    excess: float  # share of all exposure that lands beyond a job's target (PER_PLACE x its places left)
    mean_fit: float  # mean score of what is shown, what is taken off not counted


@dataclass(frozen=True)
class Spread:
    taken: dict[str, float]  # job id -> what comes off its score (jobs with nothing taken are left out)
    before: ExposureFigures
    after: ExposureFigures


def gini(values: F64) -> float:
    """0 when all are equal, towards 1 as one holds everything (the mean absolute difference over twice the mean)."""
    if not values.size or values.sum() <= 0:
        return 0.0
    ordered = np.sort(values)
    n = ordered.size
    ranks = np.arange(1, n + 1)
    return float((2 * (ranks * ordered).sum()) / (n * ordered.sum()) - (n + 1) / n)


def exposure(top: TopK, slots: int) -> F64:
    """Each job slot's exposure: the sum over workers of 1/log2(rank + 2) where it is in their top k."""
    weights = 1.0 / np.log2(np.arange(top.job_rows.shape[1]) + 2.0)
    shown = top.job_rows >= 0
    return np.bincount(
        top.job_rows[shown], weights=np.broadcast_to(weights, top.job_rows.shape)[shown], minlength=slots
    ).astype(np.float64)


def figures(top: TopK, open_rows: npt.NDArray[np.int64], places: F64, taken: F64) -> ExposureFigures:
    seen = exposure(top, len(places))[open_rows]
    room = places[open_rows]
    shown = top.job_rows >= 0
    fit = top.scores[shown] + taken[top.job_rows[shown]]
    with_room = room > 0
    return ExposureFigures(
        jobs=int(open_rows.size),
        shown=float((seen > 0).mean()) if open_rows.size else 0.0,
        headcount_shown=float(room[seen > 0].sum() / room.sum()) if room.sum() else 0.0,
        gini=gini(seen[with_room] / room[with_room]),
        excess=float(np.maximum(seen - PER_PLACE * room, 0.0).sum() / seen.sum()) if seen.sum() else 0.0,
        mean_fit=float(fit.mean()) if fit.size else 0.0,
    )


def spread(
    index: MatchIndex, today: date | None = None, *, k: int = K, rounds: int = ROUNDS, threads: int = 1
) -> Spread:
    """What to take off each job's score so that exposure follows the places left, and the figures before and
    after. Reads the index only (safe beside queries while nothing mutates it); `MatchIndex.set_spread` applies
    the result."""
    open_rows, headcount, person_ids = index.spread_inputs(today)
    places = headcount.astype(np.float64)
    taken = np.zeros(len(places), dtype=np.float32)
    before = after = None
    for round_number in range(rounds + 1):
        top = index.top_k_arrays(person_ids, k, today, threads=threads, spread=taken)
        after = figures(top, open_rows, places, taken.astype(np.float64))
        before = before or after
        if round_number == rounds or not open_rows.size:
            break
        target = np.maximum(PER_PLACE * places[open_rows], 1.0)
        ratio = np.maximum(exposure(top, len(places))[open_rows] / target, 1 / 64)
        moved = taken[open_rows] + STEP * np.log2(ratio)
        taken[open_rows] = np.clip(moved, 0.0, MAX_TAKEN).astype(np.float32)
    assert before is not None and after is not None
    kept = open_rows[taken[open_rows] > 0]
    amounts = dict(zip(index.job_ids_of(kept), taken[kept].astype(float).tolist(), strict=True))
    return Spread(amounts, before, after)
