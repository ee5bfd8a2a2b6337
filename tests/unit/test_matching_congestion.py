"""Spreading recommendations by the places jobs have left: exposure evens out, little relevance is given up,
what is taken off a score is a visible reason, and allocation is left alone."""

from __future__ import annotations

import numpy as np
import pytest

from services.matching import congestion
from services.matching.evaluation import evaluate_spread
from services.matching.ranker import MatchIndex
from services.matching.synthetic import make_jobs, make_workers
from tests.unit.test_matching_ranker import TODAY, job, worker


def test_gini_is_zero_when_even_and_near_one_when_one_job_has_it_all() -> None:
    assert congestion.gini(np.full(10, 3.0)) == pytest.approx(0.0)
    assert congestion.gini(np.array([0.0] * 99 + [1.0])) == pytest.approx(0.99)
    assert congestion.gini(np.zeros(4)) == 0.0


def test_spreading_evens_exposure_out_and_gives_up_little_relevance() -> None:
    before, after = evaluate_spread(n_workers=3000, n_jobs=800, seed=11)
    assert after.figures.gini < before.figures.gini - 0.03
    assert after.figures.excess < before.figures.excess / 2
    assert after.figures.shown >= before.figures.shown
    assert after.ndcg_at_10 > before.ndcg_at_10 - 0.02  # relevance given up, bounded
    assert after.figures.mean_fit > before.figures.mean_fit * 0.97


def test_what_is_taken_off_is_bounded_and_only_where_a_job_is_over_its_target() -> None:
    index = MatchIndex()
    index.upsert_jobs(make_jobs(600, seed=2, today=TODAY))
    index.upsert_workers(make_workers(3000, seed=2, today=TODAY))
    planned = congestion.spread(index, TODAY)
    assert planned.taken and all(
        0 < amount <= congestion.MAX_TAKEN + 1e-6 for amount in planned.taken.values()
    )
    # a job nobody is shown has nothing taken off
    index.upsert_jobs(
        [job("unseen", title="古琴调音师", description="", skills=(), occupation_code=None, city_code="3213")]
    )
    assert "unseen" not in congestion.spread(index, TODAY).taken


def test_a_spread_job_says_so_and_its_score_is_still_the_sum_of_its_reasons() -> None:
    index = MatchIndex()
    index.upsert_jobs([job("crowded"), job("quiet", headcount_left=50)])
    index.upsert_workers([worker(f"w{i}") for i in range(40)])
    index.set_spread({"crowded": 0.1, "gone": 0.2})  # an id no longer held is ignored
    crowded = next(m for m in index.recommend("w1", 5, TODAY) if m.job_id == "crowded")
    taken = next(r for r in crowded.reasons if r.code == "spread")
    assert taken.weight == pytest.approx(-0.1) and "剩余名额" in taken.label
    assert crowded.score == pytest.approx(sum(r.weight for r in crowded.reasons), abs=1e-3)
    assert [m.job_id for m in index.recommend("w1", 5, TODAY)] == ["quiet", "crowded"]
    # allocation ranks on fit alone: no spread unless asked for
    plain = index.top_k(["w1"], 5, TODAY)["w1"]
    assert all(r.code != "spread" for m in plain for r in m.reasons)
    assert index.pair("w1", "crowded", TODAY).place_for_worker == 2
