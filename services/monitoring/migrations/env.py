"""Alembic environment of the monitoring database (shared body in libs.migrations)."""

from libs.migrations import run_env
from services.monitoring.models import Base

run_env(Base.metadata)
