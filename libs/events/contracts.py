"""Event types (= NATS subjects) and payloads: the contracts between services. No person's identifiers here."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Literal

from pydantic import BaseModel, Field

JOB_PUBLISHED = "ew.supply.job.published"
JOB_UPDATED = "ew.supply.job.updated"
JOB_CLOSED = "ew.supply.job.closed"
JOB_EVENTS = "ew.supply.job.>"


class Benefits(BaseModel):
    dormitory: bool = False
    meals: bool = False
    social_insurance: bool = False


# One job as the documentation's examples show it, in every service that describes a job (supply's requests and
# answers, the feed's items): the fields a poster writes.
JOB_EXAMPLE: dict[str, object] = {
    "title": "电子产品装配工",
    "description": "流水线装配与检测，长白班，计件另有奖金。",
    "occupation_code": "6-25-04-07",
    "industry": "manufacturing",
    "city_code": "3205",
    "headcount": 20,
    "salary_min": 5200,
    "salary_max": 7200,
    "age_min": 18,
    "age_max": 45,
    "education_min": "初中",
    "skills": ["电子装配", "焊接"],
    "certificates_required": [],
    "benefits": {"dormitory": True, "meals": True, "social_insurance": True},
    "shift": "两班倒",
    "public_welfare": False,
    "contract_months": 12,
}


class JobPosting(BaseModel):
    """What a job offers and asks: declared once, here. Supply's request models check these fields on the way in
    (services/supply/schemas.py); every shape that shows a job (supply's answer, the event, the feed's item,
    matching's read model) derives from `PublishedJob`, so a new field is added here and where it is used."""

    title: str
    description: str | None
    occupation_code: str | None
    industry: str | None
    city_code: str
    headcount: int
    salary_min: int
    salary_max: int
    age_min: int | None
    age_max: int | None
    education_min: str | None
    skills: list[str]
    certificates_required: list[str]
    benefits: Benefits
    shift: str | None
    valid_until: date | None
    public_welfare: bool
    contract_months: int | None


class PublishedJob(JobPosting):
    """A job as readers see it: the posting, its employer, what is left of its headcount, its version."""

    id: str
    version: int
    employer_id: str
    employer_name: str
    employer_credit_code: str | None = (
        None  # 统一社会信用代码 (public), for comparisons with insurance records
    )
    employer_assistance_base: bool
    employer_caring: bool
    headcount_left: int
    published_at: datetime | None
    updated_at: datetime


class JobPayload(PublishedJob):
    """A job as supply publishes it: everything a reader needs, so consumers never call supply back."""

    status: str


# --- stations -----------------------------------------------------------------------------------------------

STATION_CREATED = "ew.stations.station.created"
STATION_UPDATED = "ew.stations.station.updated"
STATION_EVENTS = "ew.stations.station.>"


class StationListing(BaseModel):
    """A liaison station as anyone may see it: where it is, which Jiangsu city it pairs with. Declared once;
    the stations service's answers and the event derive from it."""

    id: str
    name: str
    province_code: str
    city_code: str
    county_code: str
    partner_city_code: str
    active: bool = True


class StationPayload(StationListing):
    """A station as its events carry it. Demand, bus and the live board keep copies."""

    version: int


# --- demand (workers) ---------------------------------------------------------------------------------------

PERSON_REGISTERED = "ew.demand.person.registered"
PERSON_UPDATED = "ew.demand.person.updated"
PERSON_STATUS_CHANGED = "ew.demand.person.status_changed"
PERSON_ERASED = "ew.demand.person.erased"
PERSON_EVENTS = "ew.demand.person.>"
WARNING_RAISED = "ew.demand.warning.raised"
WARNING_RESOLVED = "ew.demand.warning.resolved"
WARNING_EVENTS = "ew.demand.warning.>"
FOLLOW_UP_RECORDED = "ew.demand.follow_up.recorded"


class Intention(BaseModel):
    occupation_codes: list[str] = []
    keywords: str | None = None
    city_codes: list[str] = []
    min_salary: int | None = None
    needs_dormitory: bool = False
    available_from: date | None = None


WORK_HISTORY_SPELLS = 20  # spells of work history a worker carries
DUTIES_LENGTH = 2000  # characters of free text per spell: what they did, in their own words


class WorkSpell(BaseModel):
    """One spell of a worker's work history (工作经历) as matching reads it: the kind of workplace, the occupation,
    the dates and what they did. The employer's name stays in demand (`WorkSpellIn.employer`): it names a third
    party and says where a person was, and ranking does not need it."""

    workplace_kind: str | None = Field(
        default=None, max_length=30, description="单位类型或行业，如 电子厂、建筑工地"
    )
    occupation_code: str | None = Field(default=None, max_length=12, description="国家职业分类大典职业代码")
    started: date | None = Field(default=None, description="开始日期（只知道年月时填当月 1 日）")
    ended: date | None = Field(default=None, description="结束日期；仍在做的不填")
    duties: str = Field(default="", max_length=DUTIES_LENGTH, description="做过什么，自由文字")


EmploymentHow = Literal["placed", "self_found", "public_welfare", "self_employed", "flexible"]
EmploymentWhere = Literal["jiangsu", "home_county", "home_province", "other_province"]


class Employment(BaseModel):
    """Where and how an employed worker works (动态监测): placed through the platform, found work on their own, a
    public-welfare position, self-employed or flexible work; in Jiangsu, near home or in another province.
    `region_code` is a GB/T 2260 code at the precision known (a Jiangsu city, a county, a province)."""

    how: EmploymentHow
    where: EmploymentWhere | None = None
    region_code: str | None = None


class PersonPayload(BaseModel):
    """What matching needs about a worker, and nothing that identifies them: no name, ID number or phone.

    `id` is random; age and gender are derived, the birthplace is reduced to its province."""

    id: str
    version: int
    station_id: str
    province_code: str
    gender: str
    age: int
    education: str | None
    categories: list[str]
    key_region: bool
    skills: list[str]
    certificates: list[str]
    speciality: str | None = None  # 技能特长, free text
    past_training: str | None = None  # trainings taken before or outside the platform, free text
    work_history: list[WorkSpell] = []
    intention: Intention
    status: str
    status_since: date
    employment: Employment | None = None  # while employed
    updated_at: datetime


class PersonErased(BaseModel):
    id: str
    station_id: str
    erased_at: datetime


class WarningPayload(BaseModel):
    id: str
    person_id: str
    station_id: str
    kind: str  # employed_to_unemployed | placement_ended | left_job | no_contract | wage_arrears
    raised_at: datetime


class WarningResolved(BaseModel):
    id: str
    person_id: str
    station_id: str
    resolved_at: datetime


class FollowUpRecorded(BaseModel):
    """A follow-up visit of a placement, as the employer-risk and monitoring figures need it: flags, no words."""

    id: str
    placement_id: str
    person_id: str
    station_id: str
    job_id: str
    employer_id: str | None
    months: int
    visited_on: date
    still_employed: bool
    contract_signed: bool | None
    insurance_paid: bool | None
    wages_on_time: bool | None


# --- training -----------------------------------------------------------------------------------------------

TRAINING_ENROLLED = "ew.training.enrolment.enrolled"
TRAINING_COMPLETED = "ew.training.enrolment.completed"
TRAINING_EVENTS = "ew.training.>"


class TrainingEnrolled(BaseModel):
    enrolment_id: str
    programme_id: str
    base_id: str
    person_id: str
    enrolled_on: date
    order_employer_id: str | None = None  # 订单式培训: the employer that committed to hire its graduates


class TrainingCompleted(BaseModel):
    enrolment_id: str
    programme_id: str
    base_id: str
    person_id: str
    occupation_code: str
    skills: list[str]
    certificate: str | None
    completed_on: date
    enrolled_on: date | None = None
    order_employer_id: str | None = None


# --- matching -----------------------------------------------------------------------------------------------

PLACEMENT_CONFIRMED = "ew.matching.placement.confirmed"
PLACEMENT_EVENTS = "ew.matching.placement.>"


class PlacementConfirmed(BaseModel):
    """A worker placed in a job; readers take what they need (training: who started work, and when).

    Matching may send more fields; readers ignore what they do not know."""

    placement_id: str
    person_id: str
    job_id: str
    start_date: date
    application_id: str | None = None
    employer_id: str | None = None
    employer_credit_code: str | None = None
    station_id: str | None = None
    province_code: str | None = None
    city_code: str | None = None
    needs_transport: bool = False
    stream_id: str | None = None  # the live stream the application came from, for attribution


PLACEMENT_ENDED = "ew.matching.placement.ended"


class PlacementEnded(BaseModel):
    placement_id: str
    person_id: str
    job_id: str
    ended_on: date
    reason: str


PERSON_RECOMMENDED = "ew.matching.person.recommended"
RECOMMENDATION_EVENTS = "ew.matching.person.>"


class PersonRecommended(BaseModel):
    """Jobs recommended to a worker, the first time on a day (the funnel's "recommended" step counts workers)."""

    person_id: str
    station_id: str
    province_code: str
    on: date
    jobs: int


APPLICATION_SUBMITTED = "ew.matching.application.submitted"
APPLICATION_OFFERED = "ew.matching.application.offered"
APPLICATION_ACCEPTED = "ew.matching.application.accepted"
APPLICATION_DECLINED = "ew.matching.application.declined"
APPLICATION_EVENTS = "ew.matching.application.>"


class ApplicationPayload(BaseModel):
    id: str
    person_id: str
    job_id: str
    employer_id: str
    station_id: str
    channel: str
    stream_id: str | None
    status: str
    at: datetime
    # What the worker is told on an offer (a text message): the job's public title and its employer's name.
    job_title: str | None = None
    employer_name: str | None = None


# --- feed ---------------------------------------------------------------------------------------------------

SNAPSHOT_PUBLISHED = "ew.feed.snapshot.published"
FEED_EVENTS = "ew.feed.>"


class SnapshotPublished(BaseModel):
    """A numbered snapshot of all open jobs is out: `GET /v1/feed/snapshots/{version}` serves it."""

    version: int
    feed_version: int
    jobs: int
    created_at: datetime


# --- live-stream sign-ups (demand) --------------------------------------------------------------------------

LIVESIGNUP_MATCHED = "ew.demand.livesignup.matched"
LIVESIGNUP_LEAD = "ew.demand.livesignup.lead"
LIVESIGNUP_EVENTS = "ew.demand.livesignup.>"


class LiveSignupMatched(BaseModel):
    """A sign-up on a live-stream board that belongs to a registered worker: matching creates the application
    (channel `livestream`, this `stream_id`). `lead_id` is set when a lead became a registered worker (the
    sign-up was counted once already, as a lead). Ids only: the name and phone stay in demand."""

    person_id: str
    job_id: str
    stream_id: str
    station_id: str
    lead_id: str | None = None
    at: datetime


class LiveSignupLead(BaseModel):
    """A sign-up from someone not (yet) registered: a lead on the station's call-back list."""

    lead_id: str
    job_id: str
    stream_id: str
    station_id: str
    province_code: str
    at: datetime


# --- bus (就业帮扶直通车) -------------------------------------------------------------------------------------

BOOKING_CONFIRMED = "ew.bus.booking.confirmed"
BOOKING_WAITLISTED = "ew.bus.booking.waitlisted"
BOOKING_CANCELLED = "ew.bus.booking.cancelled"
BOOKING_UNSERVED = "ew.bus.booking.unserved"
BOOKING_EVENTS = "ew.bus.booking.>"
TRIP_SCHEDULED = "ew.bus.trip.scheduled"
TRIP_CANCELLED = "ew.bus.trip.cancelled"


class BookingPayload(BaseModel):
    """A booking's state: the worker by random id only. `trip_id` is None while `unserved` (no trip from the
    station reaches the city in time: the station should add one)."""

    id: str
    status: str
    trip_id: str | None
    person_id: str
    placement_id: str | None
    station_id: str
    origin_station_id: str
    destination_city_code: str
    departs_at: datetime | None
    needed_by: date | None
    reason: str | None = None
    at: datetime
    pickup_point: str | None = None  # where the trip's passengers board (for the seat's text message)


class TripPayload(BaseModel):
    id: str
    status: str
    origin_station_id: str
    origin_province_code: str
    destination_city_codes: list[str]
    departs_at: datetime
    seats: int
    seats_left: int
    reason: str | None = None


# --- policy -------------------------------------------------------------------------------------------------

ELIGIBILITY_CHANGED = "ew.policy.eligibility.changed"
ELIGIBILITY_EVENTS = "ew.policy.eligibility.>"


class EligibilityChanged(BaseModel):
    """A claim on the eligible-for-policy lists, as the figures count it: the item, where it stands, where the
    beneficiary is; the random person id, never who they are. Sent whenever the claim's status changes."""

    id: str
    version: int
    policy_code: str
    policy_name: str
    beneficiary: str
    status: str  # eligible | notified | applied | granted | refused | withdrawn
    eligible_on: date
    person_id: str | None
    station_id: str | None
    province_code: str | None
    city_code: str | None
    employer_id: str | None
    amount: Decimal | None
    granted_on: date | None


# --- monitoring ---------------------------------------------------------------------------------------------

REPORT_PUBLISHED = "ew.monitoring.report.published"


class ReportPublished(BaseModel):
    """A month's dispatch report (调度报表), published at the start of the next month: where to read it and
    the platform-wide headline figures ("<5" where fewer than five people)."""

    month: str
    url: str
    employed: int | Literal["<5"]
    started: int | Literal["<5"]
    placed: int | Literal["<5"]
    warnings_open: int | Literal["<5"]
    published_at: datetime
