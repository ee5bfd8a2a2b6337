""" "Why not": the filters one pair fails say the same as the index's masks and its pairwise check, and by how
much; ranked lists page with a key to their end; one pair's place in both lists."""

from __future__ import annotations

import dataclasses
import random
from datetime import timedelta

import numpy as np

from services.matching.filters import why_not
from services.matching.ranker import MatchIndex
from services.matching.synthetic import make_jobs, make_workers
from tests.unit.test_matching_ranker import TODAY, job, worker


def _varied_workers(n: int) -> list:  # type: ignore[type-arg]
    """Synthetic workers with every filter's edge cases planted: ages outside the law, late availability,
    certificates held or not, workers not seeking."""
    rng = random.Random(5)
    varied = []
    for w in make_workers(n, seed=3, today=TODAY):
        change: dict[str, object] = {}
        roll = rng.random()
        if roll < 0.05:
            change["age"] = rng.choice((15, 16, 55, 56, 60, 61))
        elif roll < 0.12:
            change["available_from"] = TODAY + timedelta(days=rng.choice((29, 30, 31, 45, 200)))
        elif roll < 0.2:
            change["seeking"] = False
        elif roll < 0.3:
            change["certificates"] = (rng.choice(("焊工证", "电工证", "叉车证", " 焊工证 ")),)
        varied.append(dataclasses.replace(w, **change))
    return varied


def test_the_filters_say_what_the_index_does_on_every_pair() -> None:
    jobs = make_jobs(300, seed=3, today=TODAY)
    jobs += [dataclasses.replace(jobs[0], id="late", valid_until=TODAY + timedelta(days=20))]
    workers = _varied_workers(250)
    index = MatchIndex()
    index.upsert_jobs(jobs)
    index.upsert_workers(workers)
    by_id = {j.id: j for j in jobs}
    w_rows, j_rows = index.rows_of([w.id for w in workers], [j.id for j in jobs])
    every_pair = index.pairs_pass(np.repeat(w_rows, len(jobs)), np.tile(j_rows, len(workers)), TODAY)
    checked = 0
    for i, w in enumerate(workers):
        shown = set(index.eligible_jobs(w.id, TODAY))
        passing = {j.id for j in jobs if not [m for m in why_not(j, w, TODAY) if m.code != "not_seeking"]}
        assert shown == passing, w
        assert {
            j.id for j, ok in zip(jobs, every_pair[i * len(jobs) : (i + 1) * len(jobs)], strict=True) if ok
        } == passing
        checked += len(jobs)
    for j in jobs[:60]:
        candidates = {m.person_id for m in index.candidates(j.id, 10_000, TODAY)}
        assert candidates == {w.id for w in workers if not why_not(by_id[j.id], w, TODAY, seeking=w.seeking)}
    assert checked == 301 * 250
    assert 0 < sum(len(index.eligible_jobs(w.id, TODAY)) for w in workers) < checked


def test_each_failed_filter_says_by_how_much() -> None:
    fussy = job(age_max=45, certificates_required=("焊工证", "高处作业证"), city_code="3201", valid_until=TODAY + timedelta(days=10))  # fmt: skip
    late = worker(age=52, certificates=("焊工证",), available_from=TODAY + timedelta(days=40))
    misses = {m.code: m.detail for m in why_not(fussy, late, TODAY)}
    assert misses == {
        "available_later": "可到岗日期 2027-01-10，比 2026-12-31 晚 10 天",
        "ends_before_start": "岗位有效期至 2026-12-11，可到岗日期 2027-01-10，差 30 天",
        "too_old": "年龄 52 岁，岗位要求 45 岁以下，超出 7 岁",
        "city": "岗位在南京市，意向城市为苏州市",
        "certificates": "缺少：高处作业证",
    }
    assert [m.code for m in why_not(job(headcount_left=0), worker(age=15), TODAY)] == [
        "legal_age",
        "job_full",
        "too_young",
    ]
    assert why_not(job(), worker(), TODAY) == []


def test_pages_reach_the_end_of_the_ranked_list_without_repeats() -> None:
    index = MatchIndex()
    index.upsert_jobs(make_jobs(400, seed=4, today=TODAY))
    index.upsert_workers(make_workers(300, seed=4, today=TODAY))
    person = next(
        w.id for w in make_workers(300, seed=4, today=TODAY) if len(index.eligible_jobs(w.id, TODAY)) > 40
    )
    whole = [m.job_id for m in index.recommend(person, 10_000, TODAY)]
    paged: list[str] = []
    after = None
    while True:
        page = index.recommend_page(person, 7, TODAY, after)
        paged += [m.job_id for m in page.matches]
        assert page.total == len(whole)
        if page.next_key is None:
            break
        after = page.next_key
    assert paged == whole
    # one pair's place is where the whole list has it
    for place in (1, 5, len(whole)):
        rank = index.pair(person, whole[place - 1], TODAY)
        assert rank.place_for_worker == place and rank.jobs_for_worker == len(whole)


def test_a_job_s_workers_page_within_a_station() -> None:
    workers = [worker(f"w{i}", station_id="a" if i % 3 else "b", keywords=f"电焊工 {i}") for i in range(30)]
    index = MatchIndex()
    index.upsert_jobs([job()])
    index.upsert_workers(workers)
    everyone = index.candidates_page("job-1", 100, TODAY)
    own = index.candidates_page("job-1", 4, TODAY, stations=["b"])
    seen = []
    while True:
        seen += [m.person_id for m in own.matches]
        if own.next_key is None:
            break
        own = index.candidates_page("job-1", 4, TODAY, own.next_key, stations=["b"])
    assert seen == [m.person_id for m in everyone.matches if int(m.person_id[1:]) % 3 == 0]
    assert index.candidates_page("job-1", 4, TODAY, stations=["nobody"]).matches == []
    rank = index.pair("w3", "job-1", TODAY)
    assert rank.place_for_job == 1 + [m.person_id for m in everyone.matches].index("w3")


def test_tied_scores_page_in_id_order() -> None:
    """Identical jobs tie: each page takes the ties in id order, so none is skipped or repeated."""
    index = MatchIndex()
    index.upsert_jobs([job(f"j{i:02d}") for i in reversed(range(20))])
    index.upsert_workers([worker()])
    seen: list[str] = []
    page = index.recommend_page("person-1", 3, TODAY)
    while True:
        seen += [m.job_id for m in page.matches]
        if page.next_key is None:
            break
        page = index.recommend_page("person-1", 3, TODAY, page.next_key)
    assert seen == [f"j{i:02d}" for i in range(20)]
