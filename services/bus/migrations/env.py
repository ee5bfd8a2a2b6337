"""Alembic environment of the bus database (shared body in libs.migrations)."""

from libs.migrations import run_env
from services.bus.models import Base

run_env(Base.metadata)
