"""Logs (structlog, JSON, request and trace ids, no personal data), Prometheus metrics and OpenTelemetry
traces shared by every service.

Traces: each service has its own tracer provider (its `service.name`, even when all services share one
process), all feeding one span pipeline. Spans are always made and carried (HTTP headers, the events'
`traceparent`), so logs carry trace ids; they are recorded only while the pipeline has a processor: the
OTLP exporter when `EW_OTLP_ENDPOINT` is set, or one a test adds (`add_span_processor`)."""

from __future__ import annotations

import atexit
import logging
import sys
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from typing import TYPE_CHECKING, Any, TextIO
from urllib.parse import urlsplit, urlunsplit

import structlog
from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor
from opentelemetry.instrumentation.httpx import AsyncOpenTelemetryTransport, RequestInfo
from opentelemetry.instrumentation.sqlalchemy.engine import EngineTracer
from opentelemetry.instrumentation.sqlalchemy.version import __version__ as sqlalchemy_instrumentation_version
from opentelemetry.metrics import NoOpMeter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, Span, SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.sampling import Decision, Sampler, SamplingResult, TraceIdRatioBased
from opentelemetry.trace import Link, SpanKind, Status, StatusCode, format_span_id, format_trace_id
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator
from opentelemetry.util.types import Attributes
from prometheus_client import Counter, Gauge, Histogram

if TYPE_CHECKING:
    import httpx
    from fastapi import FastAPI
    from sqlalchemy.ext.asyncio import AsyncEngine

    from libs.settings import Settings

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
OUTBOX_OLDEST_AGE = Gauge(
    "ew_outbox_oldest_age_seconds",
    "Age of the oldest outbox row not yet acknowledged (0 when none)",
    ["service"],
)
EVENTS_CONSUMED = Counter("ew_events_consumed_total", "Events handled by consumers", ["consumer", "outcome"])
CONSUMER_PENDING = Gauge("ew_consumer_pending", "Messages waiting for a consumer (lag)", ["consumer"])
EVENT_LOOP_LAG = Gauge(
    "ew_event_loop_lag_seconds", "How late the event loop ran a 1 s timer, worst of the last minute", []
)
DEPENDENCY_UP = Gauge(
    "ew_dependency_up",
    "1 while a dependency answers (at the last readiness probe)",
    ["service", "dependency"],
)
# Open SSE streams use no CPU: feed scales on this (k8s/base/feed/hpa.yaml), not on CPU alone.
SSE_STREAMS = Gauge("ew_sse_streams_open", "Server-sent event streams open in this process", [])
MATCHING_INDEX_SIZE = Gauge("ew_matching_index_size", "What this process's ranking index holds", ["kind"])
MATCHING_INDEX_AGE = Gauge(
    "ew_matching_index_age_seconds", "Seconds since this process's ranking index last caught up", []
)
MATCHING_EXPOSURE = Gauge(
    "ew_matching_exposure",
    "Recommendations' exposure per place, before and after spreading (services/matching/congestion.py): "
    "figure is gini (0 even, 1 on one job) or excess (share beyond the jobs' targets)",
    ["figure", "when"],
)
MATCHING_INDEX_RECONCILED = Counter(
    "ew_matching_index_reconciled_total",
    "Rows the ranking index had missed, found by the full comparison",
    [],
)
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

    def add_trace_ids(_: object, __: str, event_dict: structlog.types.EventDict) -> structlog.types.EventDict:
        span = trace.get_current_span().get_span_context()
        if span.is_valid:
            event_dict.setdefault("trace_id", format_trace_id(span.trace_id))
            event_dict.setdefault("span_id", format_span_id(span.span_id))
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
            add_trace_ids,
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


# --- traces -------------------------------------------------------------------------------------------------

SERVICE_ATTRIBUTE = "ew.service"
_PROPAGATOR = TraceContextTextMapPropagator()
_NOT_TRACED = ("healthz", "readyz", "metrics")


class _Pipeline(SpanProcessor):
    """The one span pipeline of the process, shared by every service's provider; processors come and go."""

    def __init__(self) -> None:
        self._processors: tuple[SpanProcessor, ...] = ()
        self._lock = threading.Lock()

    @property
    def active(self) -> bool:
        return bool(self._processors)

    def add(self, processor: SpanProcessor) -> Callable[[], None]:
        with self._lock:
            self._processors = (*self._processors, processor)

        def remove() -> None:
            with self._lock:
                self._processors = tuple(p for p in self._processors if p is not processor)

        return remove

    def on_start(self, span: Span, parent_context: otel_context.Context | None = None) -> None:
        for processor in self._processors:
            processor.on_start(span, parent_context=parent_context)

    def _on_ending(self, span: Span) -> None:
        for processor in self._processors:
            processor._on_ending(span)

    def on_end(self, span: ReadableSpan) -> None:
        for processor in self._processors:
            processor.on_end(span)

    def shutdown(self) -> None:
        """Providers come and go with the apps; the pipeline's processors are shut down once, at exit."""

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return all(processor.force_flush(timeout_millis) for processor in self._processors)

    def close(self) -> None:
        for processor in self._processors:
            processor.shutdown()


class _Sampler(Sampler):
    """Nothing is recorded while the pipeline is empty (the spans still carry ids, for the logs and for the
    services downstream). Otherwise the parent's decision is kept; a new trace starts only for a unit of work
    (a request, an event, a delivery), at `ratio`, never for a database call outside one (relay polls,
    housekeeping): those would be one-span traces several times a second."""

    def __init__(self, pipeline: _Pipeline, ratio: float) -> None:
        self._pipeline = pipeline
        self._ratio = TraceIdRatioBased(ratio)

    def should_sample(
        self,
        parent_context: otel_context.Context | None,
        trace_id: int,
        name: str,
        kind: SpanKind | None = None,
        attributes: Attributes = None,
        links: Sequence[Link] | None = None,
        trace_state: trace.TraceState | None = None,
    ) -> SamplingResult:
        parent = trace.get_current_span(parent_context).get_span_context()
        state = parent.trace_state if parent.is_valid else None
        if not self._pipeline.active:
            return SamplingResult(Decision.DROP, None, state)
        if parent.is_valid:
            sampled = parent.trace_flags.sampled
            return SamplingResult(Decision.RECORD_AND_SAMPLE if sampled else Decision.DROP, attributes, state)
        if kind is SpanKind.CLIENT:
            return SamplingResult(Decision.DROP)
        return self._ratio.should_sample(parent_context, trace_id, name, kind, attributes, links, trace_state)

    def get_description(self) -> str:
        return f"EastwestSampler{{{self._ratio.get_description()}}}"


_PIPELINE = _Pipeline()
atexit.register(_PIPELINE.close)
_EXPORTERS: set[str] = set()
_PROVIDERS: dict[str, tuple[TracerProvider, trace.Tracer]] = {}


def add_span_processor(processor: SpanProcessor) -> Callable[[], None]:
    """Record every service's spans with `processor` too (tests use an in-memory exporter); returns a call
    that takes it out again."""
    return _PIPELINE.add(processor)


def otlp_traces_url(endpoint: str) -> str:
    """The collector's base URL (`http://collector:4318`) gets the OTLP/HTTP traces path; a full URL is kept."""
    parts = urlsplit(endpoint)
    if parts.path in ("", "/"):
        return urlunsplit((parts.scheme, parts.netloc, "/v1/traces", parts.query, parts.fragment))
    return endpoint


def otlp_span_processor(endpoint: str) -> SpanProcessor:
    """Spans to the collector over OTLP/HTTP (protobuf), in batches from a background thread; imported only
    when an endpoint is configured."""
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    return BatchSpanProcessor(OTLPSpanExporter(endpoint=otlp_traces_url(endpoint)))


def configure_tracing(service: str, settings: Settings) -> TracerProvider | None:
    """The service's tracer provider (None when `settings.tracing` is off); the OTLP exporter joins the
    pipeline the first time an endpoint is configured (spans go out in batches, from a thread)."""
    if not settings.tracing:
        _PROVIDERS.pop(service, None)
        return None
    if settings.otlp_endpoint and settings.otlp_endpoint not in _EXPORTERS:
        _PIPELINE.add(otlp_span_processor(settings.otlp_endpoint))
        _EXPORTERS.add(settings.otlp_endpoint)
    resource = Resource(
        {
            "service.name": f"eastwest-{service}",
            "service.namespace": "eastwest",
            "deployment.environment.name": settings.environment,
        }
    )
    provider = TracerProvider(
        resource=resource, sampler=_Sampler(_PIPELINE, settings.trace_sample_ratio), shutdown_on_exit=False
    )
    provider.add_span_processor(_PIPELINE)
    _PROVIDERS[service] = (provider, provider.get_tracer("eastwest"))
    return provider


def tracer_provider(service: str) -> TracerProvider | None:
    found = _PROVIDERS.get(service)
    return found[0] if found else None


def instrument_service(app: FastAPI, service: str, engine: AsyncEngine, settings: Settings) -> None:
    """Server spans for the app's requests (named by route template, without the receive/send sub-spans,
    health and metrics left out) and client spans for its database statements (their text, never their
    parameters). The all-in-one gateway hands each request to exactly one service app: one server span."""
    provider = configure_tracing(service, settings)
    if provider is None:
        return
    FastAPIInstrumentor.instrument_app(
        app,
        tracer_provider=provider,
        excluded_urls=",".join(f"/{path}$" for path in _NOT_TRACED),
        exclude_spans=["receive", "send"],
        server_request_hook=_server_span_without_query,
    )
    tracer = provider.get_tracer(
        "opentelemetry.instrumentation.sqlalchemy", sqlalchemy_instrumentation_version
    )
    usage = NoOpMeter("eastwest").create_up_down_counter("db.client.connections.usage")
    _StatementTracer(tracer, engine.sync_engine, usage, enable_commenter=False)  # type: ignore[no-untyped-call]


class _StatementTracer(EngineTracer):  # type: ignore[misc]
    """A statement's client span only while something records spans: a leaf span carries nothing onwards, and
    making and dropping one cost as much CPU as a short statement itself."""

    def _before_cur_exec(
        self, conn: Any, cursor: Any, statement: str, params: Any, context: Any, executemany: bool
    ) -> tuple[str, Any]:
        if not _PIPELINE.active:
            return statement, params
        traced: tuple[str, Any] = super()._before_cur_exec(  # type: ignore[no-untyped-call]
            conn, cursor, statement, params, context, executemany
        )
        return traced


_URL_ATTRIBUTES = ("http.url", "url.full")


def _without_query(url: str) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, parts.path, "", ""))


def _scrub_url(span: trace.Span) -> None:
    """Paths carry random ids only; a query may carry what a caller typed: spans keep the path alone."""
    attributes = getattr(span, "attributes", None) or {}
    for key in _URL_ATTRIBUTES:
        value = attributes.get(key)
        if isinstance(value, str):
            span.set_attribute(key, _without_query(value))
    if "url.query" in attributes:
        span.set_attribute("url.query", "")


def _server_span_without_query(span: trace.Span, _scope: dict[str, Any]) -> None:
    if span.is_recording():
        _scrub_url(span)


async def _client_span_without_query(span: trace.Span, _request: RequestInfo) -> None:
    if span.is_recording():
        _scrub_url(span)


def traced_transport(transport: httpx.AsyncBaseTransport, service: str) -> httpx.AsyncBaseTransport:
    """An httpx transport whose requests are client spans of `service` (and carry `traceparent`); the
    transport itself when the service is not traced."""
    provider = tracer_provider(service)
    if provider is None:
        return transport
    traced: httpx.AsyncBaseTransport = AsyncOpenTelemetryTransport(
        transport, tracer_provider=provider, request_hook=_client_span_without_query
    )
    return traced


def tracer(service: str) -> trace.Tracer:
    """The service's tracer, or one that makes nothing when the service is not traced."""
    found = _PROVIDERS.get(service)
    return found[1] if found else trace.NoOpTracer()


def event_trace_context(service: str, event_type: str, event_id: str) -> dict[str, str]:
    """The W3C trace context an event carries (`traceparent`, `tracestate`: the CloudEvents distributed
    tracing extension), taken when the event is created, in the span that creates it: a PRODUCER span
    "create <type>", child of the request's or handler's span. The relay publishes it later as it is."""
    carrier: dict[str, str] = {}
    found = _PROVIDERS.get(service)
    if found is None:
        _PROPAGATOR.inject(carrier)
        return carrier
    with found[1].start_as_current_span(
        f"create {event_type}",
        kind=SpanKind.PRODUCER,
        attributes={
            SERVICE_ATTRIBUTE: service,
            "messaging.system": "nats",
            "messaging.operation.type": "create",
            "messaging.destination.name": event_type,
            "messaging.message.id": event_id,
        },
    ):
        _PROPAGATOR.inject(carrier)
    return carrier


@contextmanager
def consuming(
    service: str,
    consumer: str,
    *,
    event_type: str,
    event_id: str,
    traceparent: str | None,
    tracestate: str | None,
) -> Iterator[trace.Span]:
    """The CONSUMER span of one event's handling, "consume <type>", a child of the span that created the
    event (so it joins the producer's trace); a new trace when the event carries none."""
    carrier = {"traceparent": traceparent or "", "tracestate": tracestate or ""}
    parent = _PROPAGATOR.extract(carrier) if traceparent else otel_context.Context()
    with tracer(service).start_as_current_span(
        f"consume {event_type}",
        context=parent,
        kind=SpanKind.CONSUMER,
        attributes={
            SERVICE_ATTRIBUTE: service,
            "messaging.system": "nats",
            "messaging.operation.type": "process",
            "messaging.destination.name": event_type,
            "messaging.consumer.group.name": consumer,
            "messaging.message.id": event_id,
        },
    ) as span:
        yield span


def mark_failed(span: trace.Span, error: BaseException) -> None:
    if span.is_recording():
        span.record_exception(error)
        span.set_status(Status(StatusCode.ERROR, type(error).__name__))
