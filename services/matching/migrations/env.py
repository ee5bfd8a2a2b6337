"""Alembic environment of the matching database (shared body in libs.migrations)."""

from libs.migrations import run_env
from services.matching.models import Base

run_env(Base.metadata)
