"""Alembic environment of the demand database (shared body in libs.migrations)."""

from libs.migrations import run_env
from services.demand.models import Base

run_env(Base.metadata)
