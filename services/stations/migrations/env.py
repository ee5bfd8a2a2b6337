"""Alembic environment of the stations database (shared body in libs.migrations)."""

from libs.migrations import run_env
from services.stations.models import Base

run_env(Base.metadata)
