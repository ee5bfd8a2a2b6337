"""Logs (structlog, JSON, request ids, no personal data), Prometheus metrics shared by every service."""

from __future__ import annotations

import logging
import sys
from contextvars import ContextVar
from typing import TextIO

import structlog
from prometheus_client import Counter, Gauge, Histogram

request_id_var: ContextVar[str | None] = ContextVar("request_id", default=None)

HTTP_REQUESTS = Counter("ew_http_requests_total", "HTTP requests", ["service", "method", "route", "status"])
HTTP_LATENCY = Histogram(
    "ew_http_request_duration_seconds",
    "HTTP request latency",
    ["service", "method", "route"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
EVENTS_PUBLISHED = Counter("ew_events_published_total", "Events relayed from the outbox", ["service"])
PUBLISH_ERRORS = Counter("ew_events_publish_errors_total", "Outbox publish failures", ["service"])
OUTBOX_BACKLOG = Gauge("ew_outbox_backlog", "Outbox rows not yet acknowledged by JetStream", ["service"])
EVENTS_CONSUMED = Counter("ew_events_consumed_total", "Events handled by consumers", ["consumer", "outcome"])
CONSUMER_PENDING = Gauge("ew_consumer_pending", "Messages waiting for a consumer (lag)", ["consumer"])
DEAD_LETTERS = Counter(
    "ew_events_dead_lettered_total", "Events moved to the dead-letter subject", ["consumer"]
)


def configure_logging(level: str = "INFO", json_logs: bool = True, stream: TextIO | None = None) -> None:
    """JSON lines to stdout; every line carries the request id when there is one."""

    def add_request_id(
        _: object, __: str, event_dict: structlog.types.EventDict
    ) -> structlog.types.EventDict:
        request_id = request_id_var.get()
        if request_id is not None:
            event_dict.setdefault("request_id", request_id)
        return event_dict

    renderer: structlog.types.Processor = (
        structlog.processors.JSONRenderer(ensure_ascii=False)
        if json_logs
        else structlog.dev.ConsoleRenderer()
    )
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            add_request_id,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.format_exc_info,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelNamesMapping()[level.upper()]),
        logger_factory=structlog.PrintLoggerFactory(stream or sys.stdout),
        cache_logger_on_first_use=False,
    )


def get_logger(name: str) -> structlog.stdlib.BoundLogger:
    logger: structlog.stdlib.BoundLogger = structlog.get_logger(name)
    return logger
