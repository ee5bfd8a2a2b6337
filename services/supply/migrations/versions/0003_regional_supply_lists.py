"""regional supply lists: an employer per row, the importing bureau's city, the employers matched and created

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-08 01:50:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0003'
down_revision: str | None = '0002'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('supply_lists', schema=None) as batch_op:
        batch_op.alter_column('employer_id', existing_type=sa.String(length=36), nullable=True)
        batch_op.add_column(sa.Column('city_code', sa.String(length=4), nullable=True))
        batch_op.add_column(sa.Column('employers_matched', sa.Integer(), server_default='0', nullable=False))
        batch_op.add_column(sa.Column('employers_created', sa.Integer(), server_default='0', nullable=False))


def downgrade() -> None:
    with op.batch_alter_table('supply_lists', schema=None) as batch_op:
        batch_op.drop_column('employers_created')
        batch_op.drop_column('employers_matched')
        batch_op.drop_column('city_code')
        batch_op.alter_column('employer_id', existing_type=sa.String(length=36), nullable=False)
