"""The catalogue's rules: who may edit it, how a change becomes a version, and what the public list shows."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from decimal import Decimal
from typing import Literal

from sqlalchemy import ColumnElement
from sqlalchemy.ext.asyncio import AsyncSession

from libs.api.problems import Problem, not_found, validation_problem
from libs.auth import Principal, Role, require_role
from libs.db import utcnow
from libs.reference.divisions import division, region_name
from libs.spreadsheets import write_table
from services.policy import repository, rules
from services.policy.models import PolicyRow, PolicyVersionRow
from services.policy.schemas import (
    BENEFICIARY_NAMES,
    BENEFIT_NAMES,
    GROUP_NAMES,
    PERIOD_NAMES,
    Policy,
    PolicyChange,
    PolicyCreate,
    PolicyFields,
    PolicyItem,
    PolicyVersion,
    Vocabulary,
    VocabularyFact,
    VocabularyOccasion,
)

Status = Literal["in_force", "expired", "upcoming", "all"]
CREATED_NOTE = "新建"
# Who an occasion can pay: a placement's worker, employer or the agency that brought it; a training's worker or
# base; an employer's year, the employer.
BENEFICIARIES: dict[str, tuple[str, ...]] = {
    "placement": ("worker", "employer", "agency"),
    "training": ("worker", "training_base"),
    "employer_year": ("employer",),
}


def status_filter(status: Status, today: date) -> ColumnElement[bool] | None:
    if status == "in_force":
        return repository.in_force(today)
    if status == "expired":
        return PolicyRow.valid_to < today
    if status == "upcoming":
        return PolicyRow.valid_from > today
    return None


async def list_policies(
    session: AsyncSession,
    *,
    today: date,
    group: str | None,
    region_code: str | None,
    beneficiary: str | None,
    status: Status,
) -> list[Policy]:
    """The public list: items in force first, then by code."""
    rows = await repository.policies(
        session,
        group=group,
        region_code=region_code,
        beneficiary=beneficiary,
        status=status_filter(status, today),
    )
    items = [policy_out(row, today) for row in rows]
    return sorted(items, key=lambda item: (not item.in_force, item.code))


async def get_policy(session: AsyncSession, code: str, today: date) -> Policy:
    row = await repository.policy(session, code)
    if row is None:
        raise not_found("政策项目")
    return policy_out(row, today)


async def create_policy(session: AsyncSession, caller: Principal, data: PolicyCreate) -> PolicyRow:
    require_role(caller, Role.admin)
    if await repository.policy(session, data.code) is not None:
        raise Problem(409, f"项目代码 {data.code} 已存在", slug="policy-exists")
    row = PolicyRow(code=data.code, version=0)
    _save(session, row, _item(data), caller, CREATED_NOTE)
    await session.flush()
    return row


async def change_policy(session: AsyncSession, caller: Principal, code: str, data: PolicyChange) -> PolicyRow:
    """A new version, unless nothing changed (then the item as it is). Editing from an old version is a
    conflict: the admin would silently undo a colleague's change."""
    require_role(caller, Role.admin)
    row = await repository.policy(session, code, for_update=True)
    if row is None:
        raise not_found("政策项目")
    if data.base_version != row.version:
        raise Problem(
            409,
            f"该项目已被修改为第 {row.version} 版（您依据的是第 {data.base_version} 版），请在最新版本上修改",
            slug="edit-conflict",
        )
    item = _item(data)
    if item != row.item:
        _save(session, row, item, caller, data.note)
        await session.flush()
    return row


async def versions(session: AsyncSession, caller: Principal, code: str) -> list[PolicyVersion]:
    require_role(caller, Role.admin)
    rows = await repository.versions(session, code)
    if not rows:
        raise not_found("政策项目")
    return [version_out(row) for row in rows]


def _item(data: PolicyFields) -> dict[str, object]:
    """The item to store, once its parts agree: a known region, dates in order, a condition that runs."""
    if data.region_code is not None and division(data.region_code) is None:
        raise validation_problem("body.region_code", "unknown", "实施地区代码无法识别")
    if data.beneficiary not in BENEFICIARIES[data.occasion]:
        raise validation_problem(
            "body.beneficiary",
            "not_of_occasion",
            f"按“{rules.OCCASIONS[data.occasion].label}”核查的项目不能以此为享受对象",
        )
    if data.valid_to is not None and data.valid_to < data.valid_from:
        raise validation_problem("body.valid_to", "before_start", "截止日期不能早于起始日期")
    try:
        rules.check(data.condition, data.occasion)
    except rules.ConditionError as error:
        raise validation_problem("body.condition", "invalid", str(error)) from None
    return PolicyItem.model_validate(data.model_dump(include=set(PolicyItem.model_fields))).model_dump(
        mode="json"
    )


def _save(
    session: AsyncSession, row: PolicyRow, item: dict[str, object], caller: Principal, note: str
) -> None:
    parsed = PolicyItem.model_validate(item)
    now = utcnow()
    row.version += 1
    row.region_code = parsed.region_code
    row.beneficiary = parsed.beneficiary
    row.groups = "," + ",".join(parsed.groups) + ","
    row.valid_from = parsed.valid_from
    row.valid_to = parsed.valid_to
    row.item = item
    row.updated_at = now
    session.add(row)
    session.add(
        PolicyVersionRow(
            code=row.code, version=row.version, item=item, changed_by=caller.sub, changed_at=now, note=note
        )
    )


def in_force(item: PolicyItem, on: date) -> bool:
    return item.valid_from <= on and (item.valid_to is None or on <= item.valid_to)


def policy_out(row: PolicyRow, today: date) -> Policy:
    item = PolicyItem.model_validate(row.item)
    return Policy(
        **item.model_dump(),
        code=row.code,
        version=row.version,
        in_force=in_force(item, today),
        beneficiary_name=BENEFICIARY_NAMES[item.beneficiary],
        group_names=[GROUP_NAMES[group] for group in item.groups],
        period_name=PERIOD_NAMES[item.period],
        occasion_name=rules.OCCASIONS[item.occasion].label,
        updated_at=row.updated_at,
    )


def version_out(row: PolicyVersionRow) -> PolicyVersion:
    return PolicyVersion(
        version=row.version,
        changed_by=row.changed_by,
        changed_at=row.changed_at,
        note=row.note,
        item={"code": row.code, **row.item},
    )


def vocabulary() -> Vocabulary:
    return Vocabulary(
        language="CEL (https://github.com/google/cel-spec)",
        occasions=[
            VocabularyOccasion(
                name=occasion.name,
                label=occasion.label,
                facts=[
                    VocabularyFact(name=fact.name, type=fact.type, label=fact.label, example=fact.example)
                    for fact in occasion.facts
                ],
            )
            for occasion in rules.OCCASIONS.values()
        ],
    )


# --- the published list as a spreadsheet --------------------------------------------------------------------

COLUMNS = (
    "项目代码",
    "项目名称",
    "实施地区",
    "政策依据",
    "补贴类别",
    "补贴标准",
    "金额（元）",
    "金额说明",
    "享受对象",
    "面向人群",
    "补贴对象",
    "适用条件",
    "享受次数",
    "申请材料",
    "申领程序",
    "经办部门",
    "起始日期",
    "截止日期",
    "是否在执行期",
    "版本",
)


def catalogue_xlsx(items: Sequence[Policy], today: date) -> bytes:
    """政策清单 as the office prints it: one row per item, every column in Chinese."""
    rows = [
        (
            item.code,
            item.name,
            region_name(item.region_code) if item.region_code else "全国",
            "；".join(
                f"{basis.document_number}《{basis.title}》{basis.article}" for basis in item.legal_basis
            ),
            BENEFIT_NAMES[item.benefit.kind],
            item.benefit.standard,
            Decimal(item.benefit.amount) if item.benefit.amount is not None else "",
            "占位数，待经办部门按当地标准填写" if item.benefit.placeholder else item.benefit.unit,
            item.beneficiary_name,
            "、".join(item.group_names),
            item.target_text,
            item.conditions_text,
            item.period_name,
            "；".join(item.documents),
            item.procedure,
            item.office,
            item.valid_from,
            item.valid_to or "长期",
            "是" if item.in_force else "否",
            item.version,
        )
        for item in items
    ]
    notes = (("说明", f"就业帮扶政策清单，导出日期 {today.isoformat()}；金额为占位数的项目不能据此发放。"),)
    return write_table(COLUMNS, rows, "xlsx", sheet_title="政策清单", notes=notes)
