"""Offline evaluation and the synthetic data behind it: quality, not timing."""

from __future__ import annotations

from datetime import date

import pytest

from libs.reference.occupations import OCCUPATIONS
from libs.reference.regions import JIANGSU_CITIES
from services.matching.evaluation import EvalRow, evaluate, evaluate_text, format_table
from services.matching.synthetic import make_jobs, make_workers, make_workers_with_truth

TODAY = date(2026, 12, 1)


def test_ranker_beats_both_baselines_on_planted_preferences() -> None:
    rows = {row.method: row for row in evaluate(n_workers=1000, n_jobs=600, seed=3)}
    ranker, randomly, by_pay, ideal = (
        rows["ranker"],
        rows["random"],
        rows["same city, highest pay"],
        rows["ideal (upper bound)"],
    )
    assert ranker.workers > 300  # enough workers with a relevant job to mean something
    assert ranker.precision_at_10 > 2 * max(randomly.precision_at_10, by_pay.precision_at_10)
    assert ranker.ndcg_at_10 > 2 * max(randomly.ndcg_at_10, by_pay.ndcg_at_10)
    assert ranker.precision_at_10 <= ideal.precision_at_10 + 1e-9
    assert ideal.ndcg_at_10 > 0.999
    for row in rows.values():
        assert 0.0 <= row.coverage <= 1.0
    assert ranker.coverage > by_pay.coverage  # pay-first sends everyone to the same few jobs


def test_table_lists_every_method() -> None:
    rows = [EvalRow("ranker", 0.25, 0.75, 0.9, 100, 3.0), EvalRow("random", 0.02, 0.05, 0.95, 100, 3.0)]
    table = format_table(rows)
    assert "ranker" in table and "random" in table and "P@10" in table and "90.0%" in table


def test_synthetic_data_is_deterministic_and_plausible() -> None:
    assert make_jobs(50, seed=1, today=TODAY) == make_jobs(50, seed=1, today=TODAY)
    assert make_workers(50, seed=1, today=TODAY) == make_workers(50, seed=1, today=TODAY)
    assert make_jobs(50, seed=1, today=TODAY) != make_jobs(50, seed=2, today=TODAY)
    jobs = make_jobs(500, seed=4, today=TODAY)
    workers, truths = make_workers_with_truth(500, seed=4, today=TODAY)
    assert len({job.id for job in jobs}) == 500 and len({w.id for w in workers}) == 500
    for job in jobs:
        assert job.city_code in JIANGSU_CITIES
        assert job.occupation_code is None or job.occupation_code in OCCUPATIONS
        assert 2300 <= job.salary_min < job.salary_max <= 20000
        assert any("\u4e00" <= ch <= "\u9fff" for ch in job.title + job.description)
    for w, truth in zip(workers, truths, strict=True):
        assert truth.city_code in JIANGSU_CITIES and truth.occupation_code in OCCUPATIONS
        assert not w.city_codes or truth.city_code in w.city_codes  # the true city is always acceptable
        assert all(code in OCCUPATIONS for code in (*w.occupation_codes, *w.trained_occupations))
        assert w.occupation_codes or w.keywords


def test_text_methods_are_compared_on_the_same_pairs() -> None:
    rows = {row.method: row for row in evaluate_text(n_workers=600, n_jobs=300, seed=3)}
    baseline = rows["char n-grams TF-IDF (baseline)"]
    assert set(rows) >= {"jieba words TF-IDF", "BM25 char unigrams+bigrams", "ranker text (hashed n-grams)"}
    assert all(
        row.ndcg_at_10 > 0.3 and 0.5 < row.candidate_auc <= 1.0 for row in rows.values()
    )  # random is ~0.05
    # the ranker's own text is the baseline's method, hashed and cut to the heaviest n-grams: nothing lost
    assert rows["ranker text (hashed n-grams)"].ndcg_at_10 == pytest.approx(baseline.ndcg_at_10, abs=0.02)
