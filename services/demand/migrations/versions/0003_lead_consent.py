"""live-stream sign-ups: the consent ticked on the board, kept with the lead

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-02 12:40:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import libs.db


revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Nullable: leads from before the box existed have no recorded consent.
    with op.batch_alter_table('leads', schema=None) as batch_op:
        batch_op.add_column(sa.Column('consent_given_at', libs.db.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('consent_scope', sa.String(length=200), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('leads', schema=None) as batch_op:
        batch_op.drop_column('consent_scope')
        batch_op.drop_column('consent_given_at')
