"""the catalogue's first items: 苏人社发〔2021〕82号 and its national basis

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-07 09:30:00

Amounts marked `placeholder` are examples for the office to replace with its own standard before anything is
paid. The items are written here, frozen, so that every database starts from the same catalogue; later changes
are made by admins (each one a new version with its note) or by a later migration.
"""

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from alembic import op

import libs.db

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JIANGSU_82 = {
    "document_number": "苏人社发〔2021〕82号",
    "title": "关于切实加强就业帮扶巩固拓展脱贫攻坚成果助力乡村振兴实施方案",
}
NATIONAL_26 = {
    "document_number": "人社部发〔2021〕26号",
    "title": "关于切实加强就业帮扶巩固拓展脱贫攻坚成果助力乡村振兴的指导意见",
}
FUNDS_164 = {"document_number": "财社〔2017〕164号", "title": "就业补助资金管理办法"}
POVERTY = '["poverty_alleviated", "registered_low_income", "rural_low_income"]'
FROM_82 = "2021-08-27"  # the day 82号 was issued ("自印发之日起实施")
TO_82 = "2025-12-31"  # "政策执行期限截止 2025 年 12 月 31 日"
PLACEHOLDER = "金额为示例占位数，由经办部门按当地标准确定后填写"

SEED: list[dict[str, Any]] = [
    {
        "code": "transport-subsidy",
        "name": "跨省就业一次性交通补贴",
        "region_code": None,
        "legal_basis": [{**NATIONAL_26, "article": "二、稳定外出务工规模"}],
        "benefit": {
            "kind": "subsidy",
            "amount": "500.00",
            "unit": "元/人",
            "standard": f"每人每年一次性发放。{PLACEHOLDER}",
            "placeholder": True,
        },
        "beneficiary": "worker",
        "groups": ["poverty_alleviated", "registered_low_income", "rural_low_income"],
        "target_text": "跨省就业的脱贫人口、原建档立卡低收入人口和农村低收入人口",
        "conditions_text": "跨省就业，在同一用人单位连续就业满 3 个月。",
        "occasion": "placement",
        "condition": f"worker.categories.exists(c, c in {POVERTY})"
        " && placement.cross_province && placement.months_employed >= 3",
        "period": "year",
        "documents": ["身份证明", "劳动合同或用人单位出具的就业证明"],
        "procedure": "本人或劳务联络站向户籍地县级人力资源社会保障部门申请，审核后发放到本人社会保障卡。",
        "office": "户籍地县级人力资源社会保障部门",
        "valid_from": FROM_82,
        "valid_to": TO_82,
    },
    {
        "code": "employer-social-insurance-subsidy",
        "name": "吸纳脱贫人口就业的社会保险补贴",
        "region_code": "32",
        "legal_basis": [{**JIANGSU_82, "article": "三（三）"}],
        "benefit": {
            "kind": "subsidy",
            "amount": None,
            "unit": "元/人·月",
            "standard": "按用人单位为其实际缴纳的基本养老、基本医疗和失业保险费（不含个人缴纳部分）给予补贴，"
            "期限和标准按当地规定执行，由经办部门填写",
            "placeholder": True,
        },
        "beneficiary": "employer",
        "groups": ["poverty_alleviated", "registered_low_income", "employer"],
        "target_text": "吸纳脱贫人口、原建档立卡低收入人口就业的江苏企业",
        "conditions_text": "招用脱贫人口，签订劳动合同并缴纳社会保险，在岗满 1 个月。",
        "occasion": "placement",
        "condition": 'worker.categories.exists(c, c in ["poverty_alleviated", "registered_low_income"])'
        " && placement.months_employed >= 1",
        "period": "occasion",
        "documents": ["劳动合同", "社会保险缴费明细"],
        "procedure": "用人单位向所在地人力资源社会保障部门申请，核实缴费后按月或按季度拨付。",
        "office": "用人单位所在地县级以上人力资源社会保障部门",
        "valid_from": FROM_82,
        "valid_to": TO_82,
    },
    {
        "code": "training-living-allowance",
        "name": "培训期间生活费补贴",
        "region_code": "32",
        "legal_basis": [{**JIANGSU_82, "article": "五（十一）"}],
        "benefit": {
            "kind": "allowance",
            "amount": "30.00",
            "unit": "元/人·天",
            "standard": f"按实际培训天数计发。{PLACEHOLDER}",
            "placeholder": True,
        },
        "beneficiary": "worker",
        "groups": ["poverty_alleviated", "registered_low_income", "rural_low_income"],
        "target_text": "参加职业技能培训的农村低收入人口、脱贫人口",
        "conditions_text": "参加职业技能培训并结业。",
        "occasion": "training",
        "condition": f"worker.categories.exists(c, c in {POVERTY}) && training.completed",
        "period": "occasion",
        "documents": ["结业证书或培训机构出具的结业证明", "培训考勤记录"],
        "procedure": "培训结业后由培训基地汇总，向所在地人力资源社会保障部门申请，发放到本人社会保障卡。",
        "office": "培训基地所在地县级以上人力资源社会保障部门",
        "valid_from": FROM_82,
        "valid_to": TO_82,
    },
    {
        "code": "order-training-subsidy",
        "name": "订单式培训职业培训补贴（培训后就业）",
        "region_code": "32",
        "legal_basis": [{**JIANGSU_82, "article": "三（一）"}, {**FUNDS_164, "article": "第五条"}],
        "benefit": {
            "kind": "subsidy",
            "amount": "1500.00",
            "unit": "元/人",
            "standard": f"按培训后实现就业的人数拨付给培训基地。{PLACEHOLDER}",
            "placeholder": True,
        },
        "beneficiary": "training_base",
        "groups": ["poverty_alleviated", "registered_low_income", "rural_low_income", "training_base"],
        "target_text": "开展订单式就业培训、学员结业后实现就业的劳务输出就业培训基地",
        "conditions_text": "订单式培训，学员结业，且结业后 90 天内上岗。",
        "occasion": "training",
        "condition": f"worker.categories.exists(c, c in {POVERTY})"
        " && training.completed && training.order && training.employed_after",
        "period": "occasion",
        "documents": ["培训合同（订单）", "学员花名册和结业证明", "学员劳动合同或就业证明"],
        "procedure": "培训基地在学员就业后向所在地人力资源社会保障部门申请，按就业人数拨付。",
        "office": "培训基地所在地县级以上人力资源社会保障部门",
        "valid_from": FROM_82,
        "valid_to": TO_82,
    },
    {
        "code": "assistance-base-award",
        "name": "就业帮扶基地一次性奖补",
        "region_code": "32",
        "legal_basis": [{**JIANGSU_82, "article": "三（三）"}],
        "benefit": {
            "kind": "award",
            "amount": "20000.00",
            "unit": "元/单位",
            "standard": f"每个年度评定一次。{PLACEHOLDER}；吸纳人数门槛（10 人）同为示例",
            "placeholder": True,
        },
        "beneficiary": "employer",
        "groups": ["assistance_base", "employer"],
        "target_text": "吸纳脱贫人口就业数量多、成效好的就业帮扶基地",
        "conditions_text": "就业帮扶基地当年吸纳脱贫人口和农村低收入人口 10 人以上。",
        "occasion": "employer_year",
        "condition": "employer.assistance_base && year.hired >= 10",
        "period": "year",
        "documents": ["吸纳人员花名册", "劳动合同和社会保险缴费明细"],
        "procedure": "基地向所在地人力资源社会保障部门申请，评定后一次性拨付。",
        "office": "设区市人力资源社会保障部门",
        "valid_from": FROM_82,
        "valid_to": TO_82,
    },
    {
        "code": "agency-service-subsidy",
        "name": "人力资源服务机构和劳务经纪人就业创业服务补助",
        "region_code": "32",
        "legal_basis": [{**JIANGSU_82, "article": "三（二）"}, {**FUNDS_164, "article": "第十条"}],
        "benefit": {
            "kind": "subsidy",
            "amount": "300.00",
            "unit": "元/人",
            "standard": f"按介绍成功并稳定就业的人数计发。{PLACEHOLDER}",
            "placeholder": True,
        },
        "beneficiary": "agency",
        "groups": ["agency"],
        "target_text": "提供全流程招工用工服务的人力资源服务机构和劳务经纪人",
        "conditions_text": "介绍脱贫人口或农村低收入人口来苏就业，且在同一用人单位稳定就业满 6 个月。",
        "occasion": "placement",
        "condition": f'placement.agency_id != "" && worker.categories.exists(c, c in {POVERTY})'
        " && placement.months_employed >= 6",
        "period": "occasion",
        "documents": ["服务协议", "介绍就业人员花名册", "劳动合同"],
        "procedure": "机构或经纪人向所在地人力资源社会保障部门申请，核实就业情况后拨付。",
        "office": "机构所在地县级以上人力资源社会保障部门",
        "valid_from": FROM_82,
        "valid_to": TO_82,
    },
    {
        "code": "work-for-training",
        "name": "以工代训职业培训补贴",
        "region_code": "32",
        "legal_basis": [{**JIANGSU_82, "article": "四（六）"}],
        "benefit": {
            "kind": "subsidy",
            "amount": "500.00",
            "unit": "元/人·月",
            "standard": f"根据吸纳人数给予，最长不超过 6 个月。{PLACEHOLDER}",
            "placeholder": True,
        },
        "beneficiary": "employer",
        "groups": ["poverty_alleviated", "dibao", "employer"],
        "target_text": "吸纳脱贫人口和城乡低保对象就业并开展以工代训的企业、农民专业合作社、就业帮扶车间等",
        "conditions_text": "吸纳脱贫人口或城乡低保对象就业并开展以工代训；已享受过以工代训职业培训补贴的人员除外。"
        "政策执行至 2021 年 12 月 31 日。",
        "occasion": "placement",
        "condition": 'worker.categories.exists(c, c in ["poverty_alleviated", "dibao"])'
        " && placement.months_employed >= 1",
        "period": "once",
        "documents": ["吸纳人员花名册", "以工代训计划和记录"],
        "procedure": "用人单位向所在地人力资源社会保障部门申请，按吸纳人数和月数拨付。",
        "office": "用人单位所在地县级人力资源社会保障部门",
        "valid_from": FROM_82,
        "valid_to": "2021-12-31",
    },
]

NOTE = "初始政策清单：苏人社发〔2021〕82号及其国家依据（金额为占位数的，由经办部门填写）"

policies = sa.table(
    "policies",
    sa.column("code", sa.String),
    sa.column("version", sa.Integer),
    sa.column("region_code", sa.String),
    sa.column("beneficiary", sa.String),
    sa.column("groups", sa.String),
    sa.column("valid_from", sa.Date),
    sa.column("valid_to", sa.Date),
    sa.column("item", sa.JSON),
    sa.column("updated_at", libs.db.UTCDateTime()),
)
policy_versions = sa.table(
    "policy_versions",
    sa.column("code", sa.String),
    sa.column("version", sa.Integer),
    sa.column("item", sa.JSON),
    sa.column("changed_by", sa.String),
    sa.column("changed_at", libs.db.UTCDateTime()),
    sa.column("note", sa.String),
)


def _day(text: str | None) -> Any:
    return datetime.strptime(text, "%Y-%m-%d").date() if text else None


def upgrade() -> None:
    now = datetime.now(UTC)
    rows, versions = [], []
    for seed in SEED:
        code, item = seed["code"], {key: value for key, value in seed.items() if key != "code"}
        rows.append(
            {
                "code": code,
                "version": 1,
                "region_code": item["region_code"],
                "beneficiary": item["beneficiary"],
                "groups": "," + ",".join(item["groups"]) + ",",
                "valid_from": _day(item["valid_from"]),
                "valid_to": _day(item["valid_to"]),
                "item": item,
                "updated_at": now,
            }
        )
        versions.append(
            {"code": code, "version": 1, "item": item, "changed_by": "seed", "changed_at": now, "note": NOTE}
        )
    op.bulk_insert(policies, rows)
    op.bulk_insert(policy_versions, versions)


def downgrade() -> None:
    codes = [seed["code"] for seed in SEED]
    op.execute(policy_versions.delete().where(policy_versions.c.code.in_(codes)))
    op.execute(policies.delete().where(policies.c.code.in_(codes)))
