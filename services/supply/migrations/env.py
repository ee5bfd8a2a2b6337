"""Alembic environment of the supply database (shared body in libs.migrations)."""

from libs.migrations import run_env
from services.supply.models import Base

run_env(Base.metadata)
