"""Why a worker and a job are not matched: each hard filter the pair fails, and by how much, in Chinese.

The ranker applies the same filters as boolean masks over thousands of rows at once (`ranker.MatchIndex`
`_eligible_job_rows` / `_eligible_worker_rows`), which cannot say which one failed. This module says it for one
pair, the question a station clerk asks ("为什么没有推荐这个岗位?"); tests/unit/test_matching_filters.py checks
on thousands of pairs that both agree on which pairs pass.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from libs.reference.regions import JIANGSU_CITIES

from .columns import legal_age_range
from .features import JobFeatures, WorkerFeatures
from .ranker import AVAILABLE_WITHIN_DAYS


@dataclass(frozen=True, slots=True)
class FilterMiss:
    """One hard filter a pair fails: `code` for programs, `label` says which, `detail` by how much."""

    code: str
    label: str
    detail: str


def _city(code: str) -> str:
    return JIANGSU_CITIES.get(code, code)


def why_not(
    job: JobFeatures, worker: WorkerFeatures, today: date, *, seeking: bool = True
) -> list[FilterMiss]:
    """Every hard filter the pair fails (empty: the pair is matched and ranked). `job` is as the index would
    hold it on `today` (`features.job_features`); `seeking` is whether the worker is looking for work."""
    misses: list[FilterMiss] = []
    low, high = legal_age_range(worker.gender)
    if not low <= worker.age <= high:
        misses.append(
            FilterMiss(
                "legal_age", "不在法定劳动年龄内", f"年龄 {worker.age} 岁，法定劳动年龄为 {low}–{high} 岁"
            )
        )
    if not seeking:
        misses.append(
            FilterMiss("not_seeking", "不在求职中", "务工人员当前不在求职、失业或培训状态，不作为候选人")
        )
    start = today
    if worker.available_from is not None:
        start = max(today, worker.available_from)
        latest = today + timedelta(days=AVAILABLE_WITHIN_DAYS)
        if worker.available_from > latest:
            misses.append(
                FilterMiss(
                    "available_later",
                    f"可到岗日期晚于 {AVAILABLE_WITHIN_DAYS} 天后",
                    f"可到岗日期 {worker.available_from.isoformat()}，"
                    f"比 {latest.isoformat()} 晚 {(worker.available_from - latest).days} 天",
                )
            )
    if not job.open or job.headcount_left <= 0 or (job.valid_until is not None and job.valid_until < today):
        misses.append(_not_open(job, today))
    elif job.valid_until is not None and job.valid_until < start:
        misses.append(
            FilterMiss(
                "ends_before_start",
                "岗位截止早于可到岗日期",
                f"岗位有效期至 {job.valid_until.isoformat()}，可到岗日期 {start.isoformat()}，"
                f"差 {(start - job.valid_until).days} 天",
            )
        )
    if job.age_min is not None and worker.age < job.age_min:
        misses.append(
            FilterMiss(
                "too_young",
                "低于岗位年龄下限",
                f"年龄 {worker.age} 岁，岗位要求 {job.age_min} 岁以上，差 {job.age_min - worker.age} 岁",
            )
        )
    if job.age_max is not None and worker.age > job.age_max:
        misses.append(
            FilterMiss(
                "too_old",
                "超过岗位年龄上限",
                f"年龄 {worker.age} 岁，岗位要求 {job.age_max} 岁以下，超出 {worker.age - job.age_max} 岁",
            )
        )
    accepted = worker.city_codes or tuple(JIANGSU_CITIES)
    if job.city_code not in accepted:
        wanted = "、".join(_city(code) for code in worker.city_codes) or "江苏各设区市"
        misses.append(FilterMiss("city", "不在意向城市", f"岗位在{_city(job.city_code)}，意向城市为{wanted}"))
    held = {certificate.strip() for certificate in worker.certificates}
    missing = [c.strip() for c in job.certificates_required if c.strip() not in held]
    if missing:
        misses.append(
            FilterMiss("certificates", "缺少岗位要求的证书", f"缺少：{'、'.join(dict.fromkeys(missing))}")
        )
    return misses


def _not_open(job: JobFeatures, today: date) -> FilterMiss:
    if job.headcount_left <= 0:
        return FilterMiss("job_full", "岗位已招满", "岗位剩余招聘人数为 0")
    if job.valid_until is not None and job.valid_until < today:
        return FilterMiss("job_expired", "岗位已过有效期", f"岗位有效期至 {job.valid_until.isoformat()}")
    return FilterMiss("job_not_open", "岗位不在招聘中", "岗位已关闭或正在核查，暂不推荐")
