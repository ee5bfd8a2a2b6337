"""Learning the factor weights from outcomes: labels, a fit that stays a sum of visible contributions, the
judgement against the hand-set weights, and the planted evaluation."""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import pytest

from services.matching import learning
from services.matching.evaluation import evaluate_learning
from services.matching.features import ScoreWeights
from services.matching.ranker import FACTORS, MatchIndex
from tests.unit.test_matching_ranker import TODAY, job, worker

START = date(2026, 6, 1)


@pytest.mark.parametrize(
    ("declined", "start", "ended", "label"),
    [
        (True, None, None, False),  # an offer declined
        (False, START, START + timedelta(days=30), False),  # left within 90 days
        (False, START, None, True),  # still there after 90 days
        (False, START, START + timedelta(days=120), True),  # left, but after 90 days
        (False, TODAY - timedelta(days=20), None, None),  # too soon to say
        (False, None, None, None),  # offered, not yet placed
    ],
)
def test_labels(declined: bool, start: date | None, ended: date | None, label: bool | None) -> None:
    assert learning.label_of(declined_offer=declined, start_date=start, ended_on=ended, today=TODAY) is label


def test_factor_values_times_weights_plus_the_boosts_are_the_score() -> None:
    index = MatchIndex()
    index.upsert_jobs(
        [job(), job("far", dormitory=False, salary_min=5000, salary_max=6000, occupation_code="6-18-01-01")]
    )
    index.upsert_workers(
        [worker(categories=("poverty_alleviated",)), worker("w2", min_salary=None, needs_dormitory=False)]
    )
    for person_id, job_id in (("person-1", "job-1"), ("person-1", "far"), ("w2", "job-1")):
        [match] = [m for m in index.recommend(person_id, 10, TODAY) if m.job_id == job_id]
        values = index.factors([person_id], [job_id])[0]
        fit = float(values @ learning.hand_vector(index.weights))
        boosts = sum(
            r.weight for r in match.reasons if r.code.startswith("priority_") or r.code == "assistance_base"
        )
        assert match.score == pytest.approx(fit + boosts, abs=1e-3)


def test_the_fit_finds_what_outcomes_depend_on_and_keeps_what_they_cannot_judge() -> None:
    rng = np.random.default_rng(1)
    n = 3000
    x = np.column_stack(
        [
            rng.random(n),  # text
            np.full(n, 1.0),  # occupation: every applied pair was of the same trade, nothing to learn
            rng.random(n) < 0.2,  # training
            rng.uniform(-0.5, 0.5, n),  # pay
            rng.choice([-1.0, 0.0, 1.0], n),  # dormitory
        ]
    ).astype(float)
    logit = 0.5 * x[:, 0] + 4.0 * x[:, 3] + 0.3 * x[:, 4]
    y = rng.random(n) < 1 / (1 + np.exp(-logit))
    hand = ScoreWeights()
    learned = dict(zip(FACTORS, learning.fit(x, y, hand), strict=True))
    assert learned["pay"] > 1.3 * hand.pay  # pay decides who stays here
    assert learned["occupation"] == pytest.approx(hand.occupation, rel=0.35)  # kept, not thrown away
    assert all(value > 0 for value in learned.values())
    assert sum(learned.values()) == pytest.approx(sum(learning.hand_vector(hand)))
    when = [TODAY - timedelta(days=int(d)) for d in rng.integers(0, 700, n)]
    judged = learning.compare(x, y, when, hand)
    assert judged.better and judged.auc_learned is not None and judged.auc_hand is not None
    assert judged.judged_on == pytest.approx(n * learning.TEST_SHARE, abs=1)


def test_too_few_outcomes_are_not_trusted() -> None:
    x = np.ones((50, len(FACTORS)))
    y = np.arange(50) % 2 == 0
    judged = learning.compare(x, y, [TODAY] * 50, ScoreWeights())
    assert not judged.better and judged.auc_learned is None
    assert judged.weights == dict(zip(FACTORS, learning.hand_vector(ScoreWeights()), strict=True))


def test_on_planted_outcomes_learned_weights_predict_who_stays_better() -> None:
    hand, learned = evaluate_learning(n_workers=3000, n_jobs=800, seed=5)
    assert hand.outcome_auc is not None and learned.outcome_auc is not None
    assert learned.outcome_auc > hand.outcome_auc
    assert learned.ndcg_at_10 > hand.ndcg_at_10 - 0.03  # the choice people make is still ranked about as well
    assert learned.factor_weights["pay"] > hand.factor_weights["pay"]
