"""The ranker: hard filters, soft factors and their reasons, policy priority, incremental updates, and the three
query paths (recommend, candidates, top_k) agreeing with each other."""

from __future__ import annotations

import dataclasses
from datetime import UTC, date, datetime, timedelta
from typing import Any

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.feature_extraction.text import TfidfTransformer

from libs.events.contracts import Benefits, Intention, JobPayload, PersonPayload, WorkSpell
from services.matching.columns import job_text
from services.matching.features import (
    JobFeatures,
    Match,
    PriorityWeights,
    WorkerFeatures,
    job_features,
    worker_features,
)
from services.matching.ngrams import hashed_counts
from services.matching.ranker import MatchIndex, char_ngrams
from services.matching.synthetic import make_jobs, make_workers

TODAY = date(2026, 12, 1)
WELDER = "6-18-02-04"


def job(job_id: str = "job-1", **overrides: Any) -> JobFeatures:
    values: dict[str, Any] = {
        "id": job_id,
        "title": "电焊工",
        "description": "苏州某精密机械有限公司招聘电焊工，负责钢结构件焊接。长白班，包吃包住。",
        "skills": ("氩弧焊", "电焊"),
        "occupation_code": WELDER,
        "city_code": "3205",
        "salary_min": 7000,
        "salary_max": 8000,
        "age_min": 18,
        "age_max": 50,
        "certificates_required": (),
        "dormitory": True,
        "meals": True,
        "headcount_left": 5,
        "employer_assistance_base": False,
        "valid_until": TODAY + timedelta(days=30),
        "open": True,
    }
    values.update(overrides)
    return JobFeatures(**values)


def worker(person_id: str = "person-1", **overrides: Any) -> WorkerFeatures:
    values: dict[str, Any] = {
        "id": person_id,
        "age": 30,
        "gender": "male",
        "education": "初中",
        "categories": (),
        "key_region": False,
        "skills": ("电焊",),
        "certificates": (),
        "occupation_codes": (WELDER,),
        "keywords": "电焊工 氩弧焊",
        "city_codes": ("3205",),
        "min_salary": 6500,
        "needs_dormitory": True,
        "available_from": None,
        "trained_occupations": (),
        "unemployed_since": None,
        "province_code": "61",
        "station_id": "st-61-01",
    }
    values.update(overrides)
    return WorkerFeatures(**values)


def index_with(jobs: list[JobFeatures], workers: list[WorkerFeatures], **kwargs: Any) -> MatchIndex:
    index = MatchIndex(**kwargs)
    index.upsert_jobs(jobs)
    index.upsert_workers(workers)
    return index


def codes(match: Match) -> list[str]:
    return [reason.code for reason in match.reasons]


def reason(match: Match, code: str) -> Any:
    return next(r for r in match.reasons if r.code == code)


# --- soft factors and reasons -----------------------------------------------------------------------------------


def test_a_fitting_job_comes_with_labelled_weighted_reasons() -> None:
    index = index_with([job()], [worker()])
    [match] = index.recommend("person-1", 10, TODAY)
    assert match.job_id == "job-1" and match.person_id == "person-1"
    assert {"text_similarity", "same_occupation", "pay_above_minimum", "dormitory"} <= set(codes(match))
    assert reason(match, "same_occupation").label == "同一职业"
    assert reason(match, "text_similarity").label == "岗位与求职意向、技能或工作经历相近"
    assert reason(match, "pay_above_minimum").label == "薪资高于期望 1000 元"  # mid 7500 vs 6500
    assert reason(match, "dormitory").label == "提供住宿"
    weights = [r.weight for r in match.reasons]
    assert weights == sorted(weights, reverse=True)
    assert match.score == pytest.approx(sum(weights), abs=1e-3)
    assert all(r.label for r in match.reasons)


@pytest.mark.parametrize(
    ("code", "level", "label"),
    [
        (WELDER, 1.0, "同一职业"),
        ("6-18-02-01", 0.75, "同一职业小类"),  # same unit 6-18-02
        ("6-18-01-01", 0.5, "同一职业中类"),  # same minor group 6-18
        ("6-29-01-04", 0.25, "同一职业大类"),  # same major group 6
    ],
)
def test_occupation_closeness_by_code_level(code: str, level: float, label: str) -> None:
    index = index_with([job(occupation_code=code)], [worker(keywords="", skills=())])
    [match] = index.recommend("person-1", 10, TODAY)
    found = next(r for r in match.reasons if r.code in ("same_occupation", "occupation_group"))
    assert found.label == label
    assert found.weight == pytest.approx(index.weights.occupation * level)


def test_other_major_group_is_not_close() -> None:
    index = index_with([job(occupation_code="4-07-05-01")], [worker()])
    [match] = index.recommend("person-1", 10, TODAY)
    assert not {"same_occupation", "occupation_group"} & set(codes(match))


def test_training_for_the_occupation_is_a_reason() -> None:
    index = index_with([job()], [worker(trained_occupations=(WELDER,))])
    [match] = index.recommend("person-1", 10, TODAY)
    assert reason(match, "trained").label == "已完成相关培训"


def test_missing_dormitory_and_low_pay_cost_and_say_so() -> None:
    index = index_with([job(dormitory=False, salary_min=5000, salary_max=6000)], [worker()])
    [match] = index.recommend("person-1", 10, TODAY)
    assert reason(match, "no_dormitory").weight < 0
    assert reason(match, "no_dormitory").label == "不提供住宿"
    assert reason(match, "pay_below_minimum").label == "薪资低于期望 1000 元"
    assert reason(match, "pay_below_minimum").weight < 0
    assert match.reasons[-1].weight < 0  # negatives last


def test_text_similarity_finds_the_trade_without_occupation_codes() -> None:
    nanny = job(
        "nanny",
        title="月嫂",
        description="负责新生儿护理和产妇照料。",
        skills=("婴儿护理",),
        occupation_code=None,
    )
    cleaner = job(
        "cleaner", title="保洁员", description="负责楼道清洁。", skills=("清洁",), occupation_code=None
    )
    index = index_with([nanny, cleaner], [worker(occupation_codes=(), keywords="月嫂 育婴", skills=())])
    ranked = index.recommend("person-1", 10, TODAY)
    assert [m.job_id for m in ranked] == ["nanny", "cleaner"]
    assert "text_similarity" in codes(ranked[0]) and "text_similarity" not in codes(ranked[1])


def test_work_history_alone_finds_the_trade() -> None:
    """A worker who states no wish is matched on what they did: the words, the workplace, the occupation."""
    smt = job(
        "smt",
        title="SMT操作工",
        description="贴片线上料、换料、首件检验，两班倒。",
        skills=(),
        occupation_code=None,
    )
    kitchen = job("kitchen", title="厨房帮工", description="切配、洗碗。", skills=(), occupation_code=None)
    history = "电子厂 贴片线操作工，会换料和首件检验，后来做线长"
    blank = {"occupation_codes": (), "keywords": "", "skills": ()}
    index = index_with(
        [smt, kitchen],
        [
            worker("told", **blank, history=history),
            worker("silent", **blank),
            worker("cook", **blank, past_occupations=("4-03-01-01",)),
        ],
    )
    ranked = index.recommend("told", 10, TODAY)
    assert [m.job_id for m in ranked] == ["smt", "kitchen"]
    assert reason(ranked[0], "text_similarity").weight > 10 * reason(ranked[1], "text_similarity").weight
    assert all("text_similarity" not in codes(m) for m in index.recommend("silent", 10, TODAY))
    assert next(m.person_id for m in index.candidates("smt", 10, TODAY)) == "told"


def test_character_ngrams_need_no_dictionary_and_do_not_cross_punctuation() -> None:
    grams = char_ngrams("电焊工，ＣＮＣ")
    assert {"电", "电焊", "电焊工", "焊工", "cnc"} <= set(grams)
    assert "工，" not in grams and "工c" not in grams


def test_the_idf_is_scikit_learns_over_the_jobs_held_to_the_bit() -> None:
    jobs = make_jobs(600, seed=5, today=TODAY)
    index = MatchIndex()
    index.reserve(1000, 0)  # slots never used hold only padding
    index.upsert_jobs(jobs)
    for gone in jobs[::3]:
        index.remove_job(gone.id)
    index.maintain(force_refit=True)
    held = [j for j in jobs if j.id in index._job_row]
    counts = hashed_counts([job_text(j) for j in held], index.n_features)
    expected = TfidfTransformer(sublinear_tf=True, smooth_idf=True).fit(sp.csr_matrix(counts)).idf_
    assert np.array_equal(index._idf[:-1], expected.astype(np.float32))


# --- hard filters -------------------------------------------------------------------------------------------------


EXCLUDED: list[tuple[str, dict[str, Any], dict[str, Any]]] = [
    ("job closed", {"open": False}, {}),
    ("no headcount left", {"headcount_left": 0}, {}),
    ("city not acceptable", {"city_code": "3201"}, {}),
    ("worker younger than the job's range", {"age_min": 35}, {}),
    ("worker older than the job's range", {"age_max": 25}, {}),
    ("certificate not held", {"certificates_required": ("焊工证",)}, {}),
    ("job expired", {"valid_until": TODAY - timedelta(days=1)}, {}),
    ("worker not available within 30 days", {}, {"available_from": TODAY + timedelta(days=45)}),
    ("job ends before the worker can start", {"valid_until": TODAY + timedelta(days=10)},
     {"available_from": TODAY + timedelta(days=20)}),
    ("under 16", {"age_min": None}, {"age": 15}),
    ("man over 60", {"age_max": None}, {"age": 61}),
    ("woman over 55", {"age_max": None}, {"age": 56, "gender": "female"}),
]  # fmt: skip


@pytest.mark.parametrize(("why", "job_changes", "worker_changes"), EXCLUDED, ids=[e[0] for e in EXCLUDED])
def test_hard_filters_exclude_both_ways(
    why: str, job_changes: dict[str, Any], worker_changes: dict[str, Any]
) -> None:
    index = index_with([job(**job_changes), job("control")], [worker(**worker_changes), worker("control")])
    recommended = {m.job_id for m in index.recommend("person-1", 10, TODAY)}
    assert "job-1" not in recommended, why
    assert "person-1" not in {m.person_id for m in index.candidates("job-1", 10, TODAY)}, why
    assert "job-1" not in {job_id for job_id, _ in index.top_k_arrays(["person-1"], 10, TODAY).jobs_for(0)}, (
        why
    )
    assert "job-1" not in index.eligible_jobs("person-1", TODAY), why
    # the control pair (everything ordinary) still matches, so the filter, not the setup, excluded the pair
    assert "control" in {m.job_id for m in index.recommend("control", 10, TODAY)}


INCLUDED: list[tuple[str, dict[str, Any], dict[str, Any]]] = [
    ("any Jiangsu city when none given", {"city_code": "3201"}, {"city_codes": ()}),
    ("one of several acceptable cities", {"city_code": "3201"}, {"city_codes": ("3205", "3201")}),
    ("certificate held", {"certificates_required": ("焊工证",)}, {"certificates": ("焊工证", "健康证")}),
    ("available within 30 days", {}, {"available_from": TODAY + timedelta(days=20)}),
    ("no age range on the job", {"age_min": None, "age_max": None}, {"age": 59}),
    ("woman of 55", {"age_max": None}, {"age": 55, "gender": "female"}),
    ("16 is legal", {"age_min": None}, {"age": 16}),
    ("no end date", {"valid_until": None}, {}),
]  # fmt: skip


@pytest.mark.parametrize(("why", "job_changes", "worker_changes"), INCLUDED, ids=[e[0] for e in INCLUDED])
def test_hard_filters_let_through(
    why: str, job_changes: dict[str, Any], worker_changes: dict[str, Any]
) -> None:
    index = index_with([job(**job_changes)], [worker(**worker_changes)])
    assert [m.job_id for m in index.recommend("person-1", 10, TODAY)] == ["job-1"], why
    assert [m.person_id for m in index.candidates("job-1", 10, TODAY)] == ["person-1"], why
    assert index.top_k_arrays(["person-1"], 10, TODAY).jobs_for(0)[0][0] == "job-1", why


# --- policy priority ----------------------------------------------------------------------------------------------


def test_priority_is_visible_and_orders_equal_fits() -> None:
    plain = worker("plain")
    poor = worker("poor", categories=("poverty_alleviated",))
    keyed = worker("keyed", key_region=True)
    waiting = worker("waiting", unemployed_since=TODAY - timedelta(days=200))
    recent = worker("recent", unemployed_since=TODAY - timedelta(days=100))
    index = index_with([job(employer_assistance_base=True)], [plain, poor, keyed, waiting, recent])
    ranked = index.candidates("job-1", 10, TODAY)
    by_person = {m.person_id: m for m in ranked}
    assert ranked[0].person_id == "poor"
    assert reason(by_person["poor"], "priority_poverty_alleviated").label == "脱贫人口优先"
    assert reason(by_person["keyed"], "priority_key_region").label == "重点地区优先"
    assert reason(by_person["waiting"], "priority_long_unemployed").label == "长期失业优先"
    assert "priority_long_unemployed" not in codes(by_person["recent"])
    assert by_person["recent"].score == pytest.approx(by_person["plain"].score)
    assert by_person["poor"].score - by_person["plain"].score == pytest.approx(0.10, abs=1e-4)
    for match in ranked:  # the job's employer is an assistance base: every worker is told
        assert reason(match, "assistance_base").label == "就业帮扶基地"


def test_overlapping_categories_take_the_largest_boost_not_the_sum() -> None:
    index = index_with([job()], [worker(categories=("registered_low_income", "rural_low_income", "dibao"))])
    [match] = index.recommend("person-1", 10, TODAY)
    priority = [r for r in match.reasons if r.code.startswith("priority_")]
    assert [(r.code, r.label, r.weight) for r in priority] == [
        ("priority_registered_low_income", "原建档立卡低收入人口优先", 0.12)
    ]


def test_priority_weights_are_configurable() -> None:
    heavy = PriorityWeights(poverty_alleviated=0.5, assistance_base=0.0)
    base = index_with([job(employer_assistance_base=True)], [worker(categories=("poverty_alleviated",))])
    tuned = index_with(
        [job(employer_assistance_base=True)], [worker(categories=("poverty_alleviated",))], priority=heavy
    )
    [before] = base.recommend("person-1", 10, TODAY)
    [after] = tuned.recommend("person-1", 10, TODAY)
    assert reason(after, "priority_poverty_alleviated").weight == 0.5
    assert "assistance_base" not in codes(after)
    assert after.score - before.score == pytest.approx(0.5 - 0.10 - 0.03, abs=1e-4)


# --- incremental updates ------------------------------------------------------------------------------------------


def background(n_jobs: int = 3000, n_workers: int = 2000) -> MatchIndex:
    index = MatchIndex()
    index.upsert_jobs(make_jobs(n_jobs, seed=11, today=TODAY))
    index.upsert_workers(make_workers(n_workers, seed=11, today=TODAY))
    return index


def test_upsert_and_remove_change_results_at_once() -> None:
    index = background()
    index.upsert_worker(worker())
    first = [m.job_id for m in index.recommend("person-1", 5, TODAY)]  # builds the snapshot
    assert "new" not in first
    index.upsert_job(
        job("new", title="氩弧焊电焊工", skills=("氩弧焊", "电焊"), employer_assistance_base=True)
    )
    assert index.recommend("person-1", 5, TODAY)[0].job_id == "new"
    assert "person-1" in {m.person_id for m in index.candidates("new", 2001, TODAY)}
    index.upsert_job(job("new", city_code="3201"))  # moved to a city the worker does not accept
    assert "new" not in {m.job_id for m in index.recommend("person-1", 20, TODAY)}
    index.upsert_job(job("new", title="氩弧焊电焊工", employer_assistance_base=True))
    assert index.remove_job("new") is True
    assert "new" not in {m.job_id for m in index.recommend("person-1", 20, TODAY)}
    assert index.recommend("person-1", 5, TODAY) == index.recommend("person-1", 5, TODAY)
    with pytest.raises(KeyError):
        index.candidates("new", 5, TODAY)
    assert index.remove_job("new") is False


def test_a_changed_worker_is_ranked_on_their_new_intention() -> None:
    index = background()
    index.upsert_worker(worker())
    welder_jobs = index.recommend("person-1", 10, TODAY)
    index.upsert_worker(
        worker(occupation_codes=("4-10-01-02",), keywords="月嫂 育儿嫂", skills=("婴儿护理",))
    )
    nanny_jobs = index.recommend("person-1", 10, TODAY)
    assert {m.job_id for m in welder_jobs}.isdisjoint({m.job_id for m in nanny_jobs})
    assert all("same_occupation" in codes(m) for m in nanny_jobs)
    assert index.remove_worker("person-1") is True
    with pytest.raises(KeyError):
        index.recommend("person-1", 10, TODAY)
    assert "person-1" not in {m.person_id for m in index.candidates(nanny_jobs[0].job_id, 100, TODAY)}


def test_freed_slots_are_reused_and_many_changes_stay_exact() -> None:
    index = background(n_jobs=2000, n_workers=200)
    index.upsert_worker(worker())
    index.recommend("person-1", 5, TODAY)
    slots = index.stats()["job_slots"]
    removed = make_jobs(2000, seed=11, today=TODAY)[:1500]
    for item in removed:
        index.remove_job(item.id)
    index.upsert_jobs(job(f"w{i}", salary_min=7000 + i, salary_max=8000 + i) for i in range(1500))
    assert index.stats()["job_slots"] == slots  # no growth: removed slots were taken again
    ranked = index.recommend("person-1", 3, TODAY)
    assert all(m.job_id.startswith("w") for m in ranked)
    assert index.stats()["idf_refits"] >= 2  # the job set changed a lot: the query refitted first
    fresh = MatchIndex()
    fresh.upsert_jobs(
        [j for j in make_jobs(2000, seed=11, today=TODAY)[1500:]]
        + [job(f"w{i}", salary_min=7000 + i, salary_max=8000 + i) for i in range(1500)]
    )
    fresh.upsert_worker(worker())
    fresh.maintain(force_refit=True)
    index.maintain(force_refit=True)
    expected = [(m.job_id, m.score) for m in fresh.recommend("person-1", 10, TODAY)]
    actual = [(m.job_id, m.score) for m in index.recommend("person-1", 10, TODAY)]
    assert [s for _, s in actual] == pytest.approx([s for _, s in expected], abs=1e-5)


def test_long_texts_keep_their_heaviest_ngrams() -> None:
    long_description = "负责钢结构件焊接，" + "".join(f"第{i}条：服从安排，注意安全。" for i in range(200))
    index = index_with([job(description=long_description)], [worker()])
    assert index.stats()["jobs_truncated"] == 1
    [match] = index.recommend("person-1", 10, TODAY)
    assert "text_similarity" in codes(match)


def test_counts() -> None:
    index = index_with([job("a"), job("b", open=False)], [worker()])
    assert (index.job_count, index.worker_count, len(index)) == (2, 1, 3)
    assert index.stats()["open_jobs"] == 1
    assert "a" in index and "person-1" in index and "zzz" not in index
    assert index.has_job("a") and index.has_worker("person-1") and not index.has_job("person-1")
    index.maintain(snapshots=True)  # what the service calls after a bulk load: no request pays for it
    assert (index.stats()["job_snapshots"], index.stats()["worker_snapshots"]) == (1, 1)
    index.recommend("person-1", 5, TODAY)
    index.candidates("a", 5, TODAY)
    assert (index.stats()["job_snapshots"], index.stats()["worker_snapshots"]) == (1, 1)
    assert index.nbytes() > 0


# --- the three paths agree ----------------------------------------------------------------------------------------


def test_recommend_candidates_and_top_k_agree() -> None:
    index = background(n_jobs=3000, n_workers=600)
    top = index.top_k_arrays(None, 10, TODAY)
    for i, person_id in enumerate(top.person_ids[:150]):
        single = index.recommend(person_id, 10, TODAY)
        batch = top.jobs_for(i)
        assert [m.score for m in single] == pytest.approx([s for _, s in batch], abs=1e-4)
    person_id = top.person_ids[0]
    for match in index.recommend(person_id, 5, TODAY):
        other_way = {m.person_id: m for m in index.candidates(match.job_id, 600, TODAY)}
        assert other_way[person_id].score == pytest.approx(match.score, abs=1e-4)
    materialised = index.top_k(top.person_ids[:50], 10, TODAY)
    for person_id, matches in materialised.items():
        assert [m.job_id for m in matches] == [m.job_id for m in index.recommend(person_id, 10, TODAY)] or [
            m.score for m in matches
        ] == pytest.approx([m.score for m in index.recommend(person_id, 10, TODAY)], abs=1e-4)
        assert all(m.reasons for m in matches)


def test_top_k_has_no_job_twice_and_respects_k() -> None:
    index = background(n_jobs=1000, n_workers=300)
    top = index.top_k_arrays(None, 20, TODAY)
    assert top.job_rows.shape == (300, 20)
    for i in range(300):
        rows = top.job_rows[i][top.job_rows[i] >= 0]
        assert len(set(rows.tolist())) == len(rows)
        scores = top.scores[i][top.job_rows[i] >= 0]
        assert np.all(np.diff(scores) <= 1e-6)


# --- from the event payloads ----------------------------------------------------------------------------------------


def test_features_from_event_payloads() -> None:
    now = datetime(2026, 12, 1, tzinfo=UTC)
    payload = JobPayload(
        id="j", version=1, status="published", employer_id="e", employer_name="某公司", employer_assistance_base=True,
        employer_caring=False, title="电焊工", description=None, occupation_code=WELDER, industry="manufacturing",
        city_code="3205", headcount=5, headcount_left=2, salary_min=7000, salary_max=8000, age_min=None, age_max=50,
        education_min=None, skills=["电焊"], certificates_required=["焊工证"], benefits=Benefits(dormitory=True),
        shift=None, valid_until=None, public_welfare=False, contract_months=None, published_at=now, updated_at=now,
    )  # fmt: skip
    features = job_features(payload, TODAY)
    assert features.open and features.dormitory and features.employer_assistance_base
    assert features.description == "" and features.certificates_required == ("焊工证",)
    assert not job_features(payload.model_copy(update={"status": "closed"}), TODAY).open
    person = PersonPayload(
        id="p", version=1, station_id="s", province_code="61", gender="female", age=40, education=None,
        categories=["poverty_alleviated"], key_region=True, skills=["做饭"], certificates=[],
        intention=Intention(occupation_codes=["4-10-01-06"], keywords="保姆", city_codes=["3201"], min_salary=5000),
        status="seeking", status_since=date(2026, 1, 1), updated_at=now,
    )  # fmt: skip
    w = worker_features(person, trained_occupations=("4-10-01-05",), trained_skills=("老人护理",))
    assert w.unemployed_since == date(2026, 1, 1)
    assert w.skills == ("做饭", "老人护理") and w.trained_occupations == ("4-10-01-05",)
    assert worker_features(person.model_copy(update={"status": "employed"})).unemployed_since is None
    assert dataclasses.is_dataclass(w)
    spell = WorkSpell(workplace_kind="电子厂", occupation_code="6-25-04-07", duties="贴片")
    told = worker_features(person.model_copy(update={"speciality": "会开叉车", "work_history": [spell]}))
    assert told.history == "会开叉车\n电子厂 贴片" and told.past_occupations == ("6-25-04-07",)


def test_threads_give_the_same_top_k() -> None:
    index = background(n_jobs=1500, n_workers=800)
    one = index.top_k_arrays(None, 10, TODAY, threads=1, block_pairs=50_000)
    two = index.top_k_arrays(None, 10, TODAY, threads=2, block_pairs=50_000)
    assert np.allclose(one.scores, two.scores, atol=1e-5)  # BLAS sums in another order on one thread
    assert (one.job_rows == two.job_rows).mean() > 0.99  # ties may swap
