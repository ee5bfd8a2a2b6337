"""Policy's request and response models. An item's fields are declared once (`PolicyFields`): the admin's
create and change bodies, the published item and each stored version are made of them."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, ClassVar, Literal

from pydantic import BaseModel, Field

from libs.api.schemas import RequestModel, example, example_of
from libs.reference.labels import CATEGORY_NAMES
from services.policy import rules

Beneficiary = Literal["worker", "employer", "agency", "training_base"]
Period = Literal["once", "year", "occasion"]
BenefitKind = Literal["subsidy", "award", "allowance", "service"]
CODE = r"^[a-z][a-z0-9-]{1,62}[a-z0-9]$"

BENEFICIARY_NAMES: dict[str, str] = {
    "worker": "劳动者本人",
    "employer": "用人单位",
    "agency": "人力资源服务机构、劳务经纪人",
    "training_base": "培训基地",
}
PERIOD_NAMES: dict[str, str] = {
    "once": "每人（每个单位）限享受一次",
    "year": "每个自然年度限享受一次",
    "occasion": "每次就业（培训）限享受一次",
}
BENEFIT_NAMES: dict[str, str] = {
    "subsidy": "补贴",
    "award": "奖补",
    "allowance": "生活费补贴",
    "service": "服务",
}
GROUP_NAMES: dict[str, str] = {
    **CATEGORY_NAMES,
    "employer": "用人单位",
    "assistance_base": "就业帮扶基地",
    "agency": "人力资源服务机构、劳务经纪人",
    "training_base": "培训基地",
}
Group = Literal[
    "poverty_alleviated",
    "registered_low_income",
    "rural_low_income",
    "dibao",
    "employer",
    "assistance_base",
    "agency",
    "training_base",
]


class LegalBasis(RequestModel):
    document_number: str = Field(min_length=2, max_length=60, description="文号，如 苏人社发〔2021〕82号")
    title: str = Field(min_length=2, max_length=200, description="文件名称")
    article: str = Field(min_length=1, max_length=60, description="条款，如 三（三）")


class Benefit(RequestModel):
    kind: BenefitKind = Field(description="subsidy 补贴 | award 奖补 | allowance 生活费补贴 | service 服务")
    # A string of yuan ("500.00"), the same on the way in and out (a Decimal would be a number or a string).
    amount: str | None = Field(
        default=None,
        pattern=r"^\d{1,7}(\.\d{1,2})?$",
        description="金额（元），如 500.00；按标准计算的为 null",
    )
    unit: str = Field(default="", max_length=30, description="计量单位，如 元/人、元/人·月")
    standard: str = Field(min_length=1, max_length=500, description="标准的文字说明")
    placeholder: bool = Field(
        description="true：金额是占位数，待经办部门按当地标准填写，不能据此发放",
    )


class PolicyItem(BaseModel):
    """What an item says, as the office writes it; `condition` is the rule the eligible lists apply."""

    name: str = Field(min_length=2, max_length=100, description="政策（补贴）项目名称")
    region_code: str | None = Field(
        default=None,
        pattern=r"^\d{2}(\d{2}){0,2}$",
        description="实施地区：省（2 位）、市（4 位）或县（6 位）代码；null 为全国通行",
    )
    legal_basis: list[LegalBasis] = Field(min_length=1, max_length=10, description="政策依据")
    benefit: Benefit
    beneficiary: Beneficiary = Field(
        description="享受对象：worker 劳动者 | employer 用人单位 | agency 机构 | training_base 培训基地"
    )
    groups: list[Group] = Field(min_length=1, max_length=8, description="面向人群（筛选用）")
    target_text: str = Field(min_length=2, max_length=500, description="补贴对象（文字）")
    conditions_text: str = Field(min_length=2, max_length=2000, description="适用条件（文字）")
    occasion: rules.OccasionName = Field(
        description="按什么核查：placement 每次就业 | training 每次培训 | employer_year 用人单位的每个年度"
    )
    condition: str = Field(
        min_length=1,
        max_length=2000,
        description="适用条件的 CEL 表达式，只能使用 GET /v1/policy-vocabulary 中该核查对象的事实",
    )
    period: Period = Field(description="once 限一次 | year 每年一次 | occasion 每次就业（培训）一次")
    documents: list[str] = Field(default_factory=list, max_length=20, description="申请材料")
    procedure: str = Field(min_length=2, max_length=2000, description="申领程序")
    office: str = Field(min_length=2, max_length=100, description="经办部门")
    valid_from: date = Field(description="起始日期")
    valid_to: date | None = Field(default=None, description="截止日期（含当日）；null 为长期有效")


class PolicyFields(RequestModel, PolicyItem):
    """An item as an admin sends it, text checked (the service checks its dates, region and condition)."""

    multiline_fields: ClassVar[frozenset[str]] = frozenset({"conditions_text", "procedure"})


TRANSPORT: dict[str, Any] = {
    "name": "跨省就业一次性交通补贴",
    "region_code": None,
    "legal_basis": [
        {
            "document_number": "人社部发〔2021〕26号",
            "title": "关于切实加强就业帮扶巩固拓展脱贫攻坚成果助力乡村振兴的指导意见",
            "article": "二（二）",
        }
    ],
    "benefit": {
        "kind": "subsidy",
        "amount": "500.00",
        "unit": "元/人",
        "standard": "一次性发放，标准由输出地确定",
        "placeholder": True,
    },
    "beneficiary": "worker",
    "groups": ["poverty_alleviated", "rural_low_income"],
    "target_text": "跨省就业的脱贫人口和农村低收入人口",
    "conditions_text": "跨省就业，在同一岗位连续就业满 3 个月。",
    "occasion": "placement",
    "condition": 'worker.categories.exists(c, c in ["poverty_alleviated", "rural_low_income"])'
    " && placement.cross_province && placement.months_employed >= 3",
    "period": "year",
    "documents": ["劳动合同或用人单位出具的就业证明"],
    "procedure": "本人向户籍地县级人力资源社会保障部门或劳务联络站申请，审核后发放到本人社会保障卡。",
    "office": "户籍地县级人力资源社会保障部门",
    "valid_from": "2021-05-01",
    "valid_to": "2025-12-31",
}


class PolicyCreate(PolicyFields):
    model_config = example({"code": "transport-subsidy", **TRANSPORT})

    code: str = Field(pattern=CODE, description="项目代码（小写字母、数字和连字符），创建后不变")


class PolicyChange(PolicyFields):
    """A new version of an item: the whole item as it is to be, the version it was edited from (a change made
    meanwhile by someone else answers 409), and why (kept in the audit trail)."""

    model_config = example(
        {**TRANSPORT, "base_version": 1, "note": "延长至 2026 年底（苏人社发〔2026〕X号）"}
    )

    base_version: int = Field(ge=1, description="修改所依据的版本号")
    note: str = Field(min_length=2, max_length=500, description="修改说明")


class Policy(PolicyItem):
    model_config = example(
        {
            "code": "transport-subsidy",
            **TRANSPORT,
            "version": 1,
            "in_force": False,
            "beneficiary_name": "劳动者本人",
            "group_names": ["脱贫人口", "农村低收入人口"],
            "period_name": "每个自然年度限享受一次",
            "occasion_name": "一次就业（上岗）",
            "updated_at": "2026-12-07T02:00:00Z",
        }
    )

    code: str
    version: int
    in_force: bool = Field(description="今天是否在执行期内")
    beneficiary_name: str
    group_names: list[str]
    period_name: str
    occasion_name: str
    updated_at: datetime


class PolicyList(BaseModel):
    model_config = example({"items": [example_of(Policy)]})

    items: list[Policy]


class PolicyVersion(BaseModel):
    """One entry of the audit trail: the item as it was saved, who saved it, when and why."""

    model_config = example(
        {
            "version": 1,
            "changed_by": "admin-zhang",
            "changed_at": "2026-12-07T02:00:00Z",
            "note": "初始政策清单",
            "item": {"code": "transport-subsidy", **TRANSPORT},
        }
    )

    version: int
    changed_by: str
    changed_at: datetime
    note: str
    item: dict[str, Any]


class PolicyVersionList(BaseModel):
    model_config = example({"items": [example_of(PolicyVersion)]})

    items: list[PolicyVersion]


class VocabularyFact(BaseModel):
    name: str = Field(description="在表达式中的写法")
    type: Literal["bool", "int", "string", "list<string>"]
    label: str
    example: bool | int | str | list[str]


class VocabularyOccasion(BaseModel):
    name: rules.OccasionName
    label: str
    facts: list[VocabularyFact]


class Vocabulary(BaseModel):
    model_config = example(
        {
            "language": "CEL (https://github.com/google/cel-spec)",
            "occasions": [
                {
                    "name": "placement",
                    "label": "一次就业（上岗）",
                    "facts": [
                        {
                            "name": "placement.months_employed",
                            "type": "int",
                            "label": "到核查日（或离岗日）为止在该岗位的整月数",
                            "example": 3,
                        }
                    ],
                }
            ],
        }
    )

    language: str
    occasions: list[VocabularyOccasion]
