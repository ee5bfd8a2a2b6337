"""fits of the factor weights to the outcomes of placements

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-07 12:31:46.555480
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import libs.db


revision: str = '0005'
down_revision: str | None = '0004'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('weight_fits',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('fitted_at', libs.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('weights', sa.JSON(), nullable=False),
    sa.Column('outcomes', sa.Integer(), nullable=False),
    sa.Column('positives', sa.Integer(), nullable=False),
    sa.Column('judged_on', sa.Integer(), nullable=False),
    sa.Column('auc_hand', sa.Float(), nullable=True),
    sa.Column('auc_learned', sa.Float(), nullable=True),
    sa.Column('better', sa.Boolean(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_weight_fits'))
    )
    with op.batch_alter_table('weight_fits', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_weight_fits_fitted_at'), ['fitted_at'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('weight_fits', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_weight_fits_fitted_at'))

    op.drop_table('weight_fits')
