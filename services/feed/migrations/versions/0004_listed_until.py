"""feed_jobs.listed_until: the last day a job is shown (its closing date, else publication + 90 days)

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-02 12:00:00.000000
"""

from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta, timezone

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The posting lifetime in force when this column came (EW_FEED_POSTING_LIFETIME_DAYS's default).
LIFETIME_DAYS = 90
BEIJING = timezone(timedelta(hours=8))


def upgrade() -> None:
    with op.batch_alter_table("feed_jobs", schema=None) as batch_op:
        batch_op.add_column(sa.Column("listed_until", sa.Date(), nullable=True))
        batch_op.create_index("ix_feed_jobs_expiry", ["listed", "listed_until"], unique=False)
    _fill_listed_until()


def _day(value: str | None) -> date | None:
    if not value:
        return None
    moment = datetime.fromisoformat(value)
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).astimezone(BEIJING).date()


def _fill_listed_until() -> None:
    """Jobs the feed already holds: their closing date, else their publication day plus the lifetime."""
    jobs = sa.table(
        "feed_jobs",
        sa.column("job_id", sa.String),
        sa.column("valid_until", sa.Date),
        sa.column("payload", sa.JSON),
        sa.column("listed_until", sa.Date),
    )
    connection = op.get_bind()
    rows = connection.execute(sa.select(jobs.c.job_id, jobs.c.valid_until, jobs.c.payload)).all()
    for job_id, valid_until, payload in rows:
        published = _day(payload.get("published_at")) or _day(payload.get("updated_at"))
        until = valid_until or (published + timedelta(days=LIFETIME_DAYS) if published else None)
        connection.execute(sa.update(jobs).where(jobs.c.job_id == job_id).values(listed_until=until))


def downgrade() -> None:
    with op.batch_alter_table("feed_jobs", schema=None) as batch_op:
        batch_op.drop_index("ix_feed_jobs_expiry")
        batch_op.drop_column("listed_until")
