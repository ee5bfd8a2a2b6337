"""where and how an employed worker works, on the worker and in the status history

Revision ID: 0004
Revises: 0003
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

COLUMNS = (("employment_how", 16), ("employment_where", 16), ("employment_region_code", 6))


def upgrade() -> None:
    # Nullable: a worker who is not employed has none, and history from before this revision has none.
    for table in ("persons", "status_changes"):
        with op.batch_alter_table(table, schema=None) as batch_op:
            for name, length in COLUMNS:
                batch_op.add_column(sa.Column(name, sa.String(length=length), nullable=True))


def downgrade() -> None:
    for table in ("persons", "status_changes"):
        with op.batch_alter_table(table, schema=None) as batch_op:
            for name, _length in reversed(COLUMNS):
                batch_op.drop_column(name)
