"""work history (工作经历), speciality (技能特长) and past training on the worker

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-07 12:02:38.905842
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import libs.db


revision: str = '0008'
down_revision: str | None = '0007'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('persons', schema=None) as batch_op:
        batch_op.add_column(sa.Column('speciality', sa.Text(), nullable=True))
        batch_op.add_column(sa.Column('past_training', sa.Text(), nullable=True))
        batch_op.add_column(sa.Column('work_history', sa.JSON(), nullable=False, server_default=sa.text("'[]'")))



def downgrade() -> None:
    with op.batch_alter_table('persons', schema=None) as batch_op:
        batch_op.drop_column('work_history')
        batch_op.drop_column('past_training')
        batch_op.drop_column('speciality')

