"""Alembic environment of the policy database (shared body in libs.migrations)."""

from libs.migrations import run_env
from services.policy.models import Base

run_env(Base.metadata)
