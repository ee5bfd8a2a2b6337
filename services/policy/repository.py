"""Every query of the policy service."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from sqlalchemy import ColumnElement, or_, select, true
from sqlalchemy.ext.asyncio import AsyncSession

from services.policy.models import PolicyRow, PolicyVersionRow


async def policy(session: AsyncSession, code: str, *, for_update: bool = False) -> PolicyRow | None:
    statement = select(PolicyRow).where(PolicyRow.code == code)
    if for_update:
        statement = statement.with_for_update()
    return (await session.scalars(statement)).one_or_none()


def in_force(on: date) -> ColumnElement[bool]:
    return (PolicyRow.valid_from <= on) & or_(PolicyRow.valid_to.is_(None), PolicyRow.valid_to >= on)


def applies_in(region_code: str) -> ColumnElement[bool]:
    """Items of the whole country, or of the region itself or a region containing it (a province's items
    apply in its counties)."""
    prefixes = {region_code[:length] for length in (2, 4, 6) if len(region_code) >= length}
    return or_(PolicyRow.region_code.is_(None), PolicyRow.region_code.in_(sorted(prefixes)))


async def policies(
    session: AsyncSession,
    *,
    group: str | None = None,
    region_code: str | None = None,
    beneficiary: str | None = None,
    status: ColumnElement[bool] | None = None,
) -> Sequence[PolicyRow]:
    """The catalogue, filtered; a few dozen items, so no paging."""
    statement = select(PolicyRow).where(
        PolicyRow.groups.like(f"%,{group},%") if group else true(),
        applies_in(region_code) if region_code else true(),
        PolicyRow.beneficiary == beneficiary if beneficiary else true(),
        status if status is not None else true(),
    )
    return (await session.scalars(statement.order_by(PolicyRow.code))).all()


async def versions(session: AsyncSession, code: str) -> Sequence[PolicyVersionRow]:
    statement = select(PolicyVersionRow).where(PolicyVersionRow.code == code)
    return (await session.scalars(statement.order_by(PolicyVersionRow.version.desc()))).all()
