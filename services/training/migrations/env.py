"""Alembic environment of the training database (shared body in libs.migrations)."""

from libs.migrations import run_env
from services.training.models import Base

run_env(Base.metadata)
