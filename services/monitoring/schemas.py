"""Monitoring's request and response models. A count is a number, or "<5" where it would single people out."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Literal

from pydantic import BaseModel, Field

from libs.api.schemas import RequestModel, example, example_of

Count = int | Literal["<5"]
Dimension = Literal[
    "province",
    "city",
    "county",
    "station",
    "jiangsu_city",
    "category",
    "key_region",
    "industry",
    "occupation_group",
    "where",
    "how",
]
FunnelGroup = Literal["channel", "station"]

SCOPE = "全部"
AGREEMENT = {
    "id": "7c9e6679-7425-40de-944b-e07fc1f90ae7",
    "title": "苏州市—铜仁市人力资源合作框架协议（2026 年度）",
    "jiangsu_city_code": "3205",
    "jiangsu_city": "苏州市",
    "partner_region_code": "5206",
    "partner_region": "铜仁市",
    "year": 2026,
    "signed_on": "2026-02-18",
    "targets": {"employed": 3000, "trained": 1200, "carried": 800},
    "created_at": "2026-02-20T02:00:00Z",
}
STATION_ID = "3f1c2b5e-8d7a-4c2e-9b1a-6d5e4f3a2b1c"


class Cell(BaseModel):
    key: str | None = Field(description="分组代码（省、市、县代码，类别，行业等）；null 为未知")
    label: str = Field(description="分组名称")
    count: Count


class MonthPoint(BaseModel):
    month: str = Field(description="月份 YYYY-MM")
    on: date = Field(description="统计日（月末，本月为今天）")
    employed: Count = Field(description="月末在岗人数")
    started: Count = Field(description="本月新增就业人数")
    change_on_previous_month: int | None = Field(description="比上月末增减；任一方少于 5 人时不显示")
    change_on_last_year: int | None = Field(description="比去年同月末增减；任一方少于 5 人时不显示")


class EmploymentStats(BaseModel):
    model_config = example(
        {
            "scope": SCOPE,
            "on": "2026-11-30",
            "employed": 1280,
            "by": "jiangsu_city",
            "breakdown": [
                {"key": "3205", "label": "苏州市", "count": 640},
                {"key": "3213", "label": "宿迁市", "count": "<5"},
            ],
            "series": [
                {
                    "month": "2026-11",
                    "on": "2026-11-30",
                    "employed": 1280,
                    "started": 96,
                    "change_on_previous_month": 31,
                    "change_on_last_year": 402,
                }
            ],
        }
    )

    scope: str = Field(description="统计范围")
    on: date
    employed: Count = Field(description="统计日在岗人数")
    by: Dimension
    breakdown: list[Cell]
    series: list[MonthPoint]


class Cohort(BaseModel):
    month: str = Field(description="上岗月份")
    placed: Count
    retained_3_months: float | None = Field(description="3 个月后仍在岗的比例；未到期或人数少于 5 时为 null")
    retained_6_months: float | None
    retained_12_months: float | None


class RetentionStats(BaseModel):
    model_config = example(
        {
            "scope": SCOPE,
            "cohorts": [
                {
                    "month": "2026-01",
                    "placed": 120,
                    "retained_3_months": 0.86,
                    "retained_6_months": 0.79,
                    "retained_12_months": None,
                }
            ],
            "median_tenure_days": 214,
            "ended": 48,
            "job_losses": 35,
            "re_employed": 22,
            "median_days_to_re_employment": 26,
        }
    )

    scope: str
    cohorts: list[Cohort]
    median_tenure_days: float | None = Field(description="区间内离岗者的在岗天数中位数")
    ended: Count = Field(description="区间内离岗（平台安置结束）人次")
    job_losses: Count = Field(description="区间内就业转失业人次")
    re_employed: Count = Field(description="其中已再就业人次")
    median_days_to_re_employment: float | None = Field(description="从失业到再就业的天数中位数")


class FunnelStep(BaseModel):
    step: Literal["registered", "recommended", "applied", "offered", "accepted", "placed", "employed_90_days"]
    label: str
    count: Count | None = Field(description="null：该步骤不按此分组统计（登记、推荐不分渠道）")


class FunnelGroupRow(BaseModel):
    key: str | None
    label: str
    steps: list[FunnelStep]


class FunnelStats(BaseModel):
    model_config = example(
        {
            "scope": SCOPE,
            "total": [
                {"step": "registered", "label": "登记", "count": 900},
                {"step": "recommended", "label": "推荐", "count": 720},
                {"step": "applied", "label": "投递", "count": 600},
                {"step": "offered", "label": "录用通知", "count": 300},
                {"step": "accepted", "label": "接受", "count": 260},
                {"step": "placed", "label": "上岗", "count": 240},
                {"step": "employed_90_days", "label": "90 天仍在岗", "count": 190},
            ],
            "by": "channel",
            "groups": [
                {
                    "key": "livestream",
                    "label": "直播带岗",
                    "steps": [{"step": "applied", "label": "投递", "count": 80}],
                }
            ],
        }
    )

    scope: str
    total: list[FunnelStep]
    by: FunnelGroup
    groups: list[FunnelGroupRow]


class ProgrammeTraining(BaseModel):
    base_id: str
    programme_id: str
    enrolled: Count
    completed: Count
    employed_within_6_months: Count
    employment_rate: float | None = Field(
        description="培训后就业率：结业后 6 个月内上岗 / 结业；少于 5 人时为 null"
    )


class TrainingStats(BaseModel):
    model_config = example(
        {
            "scope": SCOPE,
            "enrolled": 320,
            "completed": 280,
            "employed_within_6_months": 190,
            "employment_rate": 0.68,
            "programmes": [
                {
                    "base_id": STATION_ID,
                    "programme_id": STATION_ID,
                    "enrolled": 40,
                    "completed": 36,
                    "employed_within_6_months": 25,
                    "employment_rate": 0.69,
                }
            ],
        }
    )

    scope: str
    enrolled: Count
    completed: Count
    employed_within_6_months: Count
    employment_rate: float | None
    programmes: list[ProgrammeTraining]


class BusStats(BaseModel):
    model_config = example(
        {
            "scope": SCOPE,
            "trips": 12,
            "seats": 540,
            "seats_taken": 498,
            "occupancy": 0.92,
            "carried": 470,
            "unserved": 6,
            "waitlisted": 3,
        }
    )

    scope: str
    trips: int = Field(description="发车班次（不含取消）")
    seats: int
    seats_taken: Count
    occupancy: float | None = Field(description="上座率 = 已确认座位 / 座位")
    carried: Count = Field(description="已发车班次运送人数")
    unserved: Count = Field(description="未能安排座位的人数")
    waitlisted: Count = Field(description="当前候补人数")


class WarningKind(BaseModel):
    kind: str
    label: str
    raised: Count
    resolved: Count
    open: Count


class WarningStats(BaseModel):
    model_config = example(
        {
            "scope": SCOPE,
            "raised": 40,
            "resolved": 31,
            "open": 12,
            "median_days_to_resolve": 3.0,
            "kinds": [
                {"kind": "left_job", "label": "回访发现离岗", "raised": 12, "resolved": 9, "open": "<5"}
            ],
            "follow_ups_due": 320,
            "follow_ups_overdue": 14,
        }
    )

    scope: str
    raised: Count
    resolved: Count
    open: Count = Field(description="统计日未处理的预警")
    median_days_to_resolve: float | None
    kinds: list[WarningKind]
    follow_ups_due: Count = Field(description="统计日前应回访次数")
    follow_ups_overdue: Count = Field(description="其中逾期未回访")


class Targets(BaseModel):
    employed: int = Field(ge=0, le=10_000_000, description="年度目标：来苏就业人数")
    trained: int = Field(ge=0, le=10_000_000, description="年度目标：培训人数")
    carried: int = Field(ge=0, le=10_000_000, description="年度目标：直通车运送人数")


class AgreementCreate(RequestModel):
    model_config = example(
        {
            "title": "苏州市—铜仁市人力资源合作框架协议（2026 年度）",
            "jiangsu_city_code": "3205",
            "partner_region_code": "5206",
            "year": 2026,
            "signed_on": "2026-02-18",
            "targets": {"employed": 3000, "trained": 1200, "carried": 800},
        }
    )

    title: str = Field(min_length=2, max_length=200)
    jiangsu_city_code: str = Field(pattern=r"^32\d{2}$", description="江苏设区市代码")
    partner_region_code: str = Field(
        pattern=r"^\d{2}(\d{2}){0,2}$", description="协作地区：省（2 位）、市（4 位）或县（6 位）代码"
    )
    year: int = Field(ge=2016, le=2100)
    signed_on: date | None = None
    targets: Targets


class Agreement(BaseModel):
    model_config = example(AGREEMENT)

    id: str
    title: str
    jiangsu_city_code: str
    jiangsu_city: str
    partner_region_code: str
    partner_region: str
    year: int
    signed_on: date | None
    targets: Targets
    created_at: datetime


class AgreementList(BaseModel):
    model_config = example({"items": [AGREEMENT]})

    items: list[Agreement]


class TargetProgress(BaseModel):
    target: int
    actual: Count
    share: float | None = Field(description="完成比例")
    expected_by_now: int = Field(description="按时间进度应完成数")
    on_track: bool | None = Field(description="是否达到时间进度；人数少于 5 时为 null")


class AgreementProgress(BaseModel):
    model_config = example(
        {
            "agreement": AGREEMENT,
            "on": "2026-11-30",
            "year_elapsed": 0.91,
            "employed": {
                "target": 3000,
                "actual": 2810,
                "share": 0.94,
                "expected_by_now": 2730,
                "on_track": True,
            },
            "trained": {
                "target": 1200,
                "actual": 1002,
                "share": 0.84,
                "expected_by_now": 1092,
                "on_track": False,
            },
            "carried": {
                "target": 800,
                "actual": 760,
                "share": 0.95,
                "expected_by_now": 728,
                "on_track": True,
            },
        }
    )

    agreement: Agreement
    on: date
    year_elapsed: float = Field(description="年度时间进度")
    employed: TargetProgress
    trained: TargetProgress
    carried: TargetProgress


class PolicyLine(BaseModel):
    policy_code: str
    policy_name: str
    region_code: str | None = Field(description="劳动者的来源省份；用人单位的项目为其所在江苏设区市")
    region_name: str
    eligible: Count = Field(description="期间新增符合条件的人（单位）次")
    granted: Count = Field(description="期间发放人（单位）次")
    granted_amount: Decimal | None = Field(description="期间发放金额（元）；人次少于 5 时不显示")
    pending: Count = Field(description="期末待告知、待申请或待审批的人（单位）次")


class PolicyStats(BaseModel):
    """政策落实: the eligible-for-policy lists' totals per item and region (from policy's events)."""

    model_config = example(
        {
            "scope": SCOPE,
            "items": [
                {
                    "policy_code": "transport-subsidy",
                    "policy_name": "跨省就业一次性交通补贴",
                    "region_code": "52",
                    "region_name": "贵州省",
                    "eligible": 120,
                    "granted": 96,
                    "granted_amount": "48000.00",
                    "pending": 31,
                }
            ],
        }
    )

    scope: str
    items: list[PolicyLine]


class MonthlyReport(BaseModel):
    """调度报表: every topic for one month, in the caller's scope."""

    model_config = example(
        {
            "month": "2026-11",
            "scope": SCOPE,
            "on": "2026-11-30",
            "generated_at": "2026-12-01T00:05:00Z",
            "employment": {"by_province": [{"key": "52", "label": "贵州省", "count": 640}]},
            "series": example_of(EmploymentStats)["series"],
            "retention": example_of(RetentionStats),
            "funnel": example_of(FunnelStats),
            "training": example_of(TrainingStats),
            "bus": example_of(BusStats),
            "warnings": example_of(WarningStats),
            "agreements": [example_of(AgreementProgress)],
            "policy": example_of(PolicyStats),
        }
    )

    month: str
    scope: str
    on: date = Field(description="月末（本月为今天）")
    generated_at: datetime
    employment: dict[str, list[Cell]] = Field(
        description="月末在岗人数：by_province 来源省份、by_jiangsu_city 江苏城市、by_category 人员类别、"
        "by_how 就业方式、by_where 就业地点"
    )
    series: list[MonthPoint] = Field(description="截至本月的 12 个月趋势")
    retention: RetentionStats
    funnel: FunnelStats
    training: TrainingStats
    bus: BusStats
    warnings: WarningStats
    agreements: list[AgreementProgress]
    policy: PolicyStats
