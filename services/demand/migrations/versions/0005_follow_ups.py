"""follow-up visits (回访) of every placement

Revision ID: 0005
Revises: 0004
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import libs.db

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "follow_ups",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("placement_id", sa.String(length=36), nullable=False),
        sa.Column("person_id", sa.String(length=36), nullable=False),
        sa.Column("station_id", sa.String(length=36), nullable=False),
        sa.Column("province_code", sa.String(length=2), nullable=False),
        sa.Column("job_id", sa.String(length=36), nullable=False),
        sa.Column("employer_id", sa.String(length=36), nullable=True),
        sa.Column("start_date", sa.Date(), nullable=False),
        sa.Column("months", sa.Integer(), nullable=False),
        sa.Column("due_on", sa.Date(), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("visited_on", sa.Date(), nullable=True),
        sa.Column("still_employed", sa.Boolean(), nullable=True),
        sa.Column("contract_signed", sa.Boolean(), nullable=True),
        sa.Column("insurance_paid", sa.Boolean(), nullable=True),
        sa.Column("wages_on_time", sa.Boolean(), nullable=True),
        sa.Column("problem_encrypted", sa.Text(), nullable=True),
        sa.Column("recorded_at", libs.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("created_at", libs.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["person_id"], ["persons.id"], name=op.f("fk_follow_ups_person_id_persons")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_follow_ups")),
        sa.UniqueConstraint("placement_id", "months", name="one_visit_per_placement_and_month"),
    )
    with op.batch_alter_table("follow_ups", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_follow_ups_placement_id"), ["placement_id"], unique=False)
        batch_op.create_index("ix_follow_ups_station", ["station_id", "due_on", "id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("follow_ups", schema=None) as batch_op:
        batch_op.drop_index("ix_follow_ups_station")
        batch_op.drop_index(batch_op.f("ix_follow_ups_placement_id"))
    op.drop_table("follow_ups")
