"""The employer-risk signal: what follow-up visits (回访) found at an employer (wages not paid in full and on
time, no labour contract, social insurance not paid), counted since an admin last reviewed it. Admins see it
on the employer; two or more wage-arrears reports hold the employer's new or edited postings for review
(flagged, like any compliance issue) until an admin has looked into it and says so."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from libs.api.problems import not_found
from libs.auth import Principal, Role, require_role
from libs.db import beijing_date
from libs.events.contracts import FollowUpRecorded
from services.supply import repository
from services.supply.compliance import ComplianceIssue
from services.supply.models import Employer, RiskReport
from services.supply.schemas import EmployerRisk

WAGE_ARREARS_HOLD = 2  # reports since the last review that hold new postings
WAGE_ARREARS = "employer.wage_arrears"


async def record_visit(session: AsyncSession, visit: FollowUpRecorded) -> None:
    """A visit that found something wrong counts once against its employer; a good visit counts nothing."""
    found = {
        "wage_arrears": visit.wages_on_time is False,
        "no_contract": visit.contract_signed is False,
        "insurance_unpaid": visit.insurance_paid is False,
    }
    if visit.employer_id is None or not any(found.values()):
        return
    employer = await repository.get_employer(session, visit.employer_id)
    if employer is None or await session.get(RiskReport, visit.id) is not None:
        return
    session.add(
        RiskReport(follow_up_id=visit.id, employer_id=employer.id, visited_on=visit.visited_on, **found)
    )
    employer.wage_arrears_reports += found["wage_arrears"]
    employer.no_contract_reports += found["no_contract"]
    employer.insurance_unpaid_reports += found["insurance_unpaid"]
    employer.last_risk_report_on = max(employer.last_risk_report_on or visit.visited_on, visit.visited_on)
    await session.flush()


def posting_issue(employer: Employer) -> ComplianceIssue | None:
    if employer.wage_arrears_reports < WAGE_ARREARS_HOLD:
        return None
    return ComplianceIssue(
        code=WAGE_ARREARS,
        message=(
            f"该用人单位自上次核查以来有 {employer.wage_arrears_reports} 次回访反映工资未足额按时发放，"
            f"新发布或修改的岗位需管理员核查（POST /v1/employers/{employer.id}/risk-review）后再次提交。"
        ),
    )


def risk_view(caller: Principal, employer: Employer) -> EmployerRisk | None:
    """What admins see of the signal; nobody else does."""
    if not caller.is_admin:
        return None
    return EmployerRisk(
        wage_arrears=employer.wage_arrears_reports,
        no_contract=employer.no_contract_reports,
        insurance_unpaid=employer.insurance_unpaid_reports,
        last_reported_on=employer.last_risk_report_on,
        reviewed_on=employer.risk_reviewed_on,
    )


async def review(session: AsyncSession, caller: Principal, employer_id: str) -> Employer:
    """An admin has looked into the reports: the counts start again from nothing (the reports stay)."""
    require_role(caller, Role.admin)
    employer = await repository.get_employer(session, employer_id)
    if employer is None:
        raise not_found("用人单位")
    employer.wage_arrears_reports = employer.no_contract_reports = employer.insurance_unpaid_reports = 0
    employer.risk_reviewed_on = beijing_date()
    await session.flush()
    return employer
