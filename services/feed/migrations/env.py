"""Alembic environment of the feed database (shared body in libs.migrations)."""

from libs.migrations import run_env
from services.feed.models import Base

run_env(Base.metadata)
