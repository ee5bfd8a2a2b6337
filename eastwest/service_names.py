"""The names of the services, without importing them: the CLI's help and argument checks need only these,
and importing the services (FastAPI, SQLAlchemy, scikit-learn) takes seconds. `eastwest.services.FACTORIES`
has the same keys in the same order (a unit test holds them equal)."""

from __future__ import annotations

SERVICE_NAMES: tuple[str, ...] = (
    "stations",
    "demand",
    "supply",
    "training",
    "matching",
    "feed",
    "bus",
    "monitoring",
    "policy",
)
