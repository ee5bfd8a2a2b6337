"""Trace context in events and logs, and when spans are recorded (no I/O: the in-memory exporter)."""

from __future__ import annotations

import io
import json

from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, format_trace_id

from libs.events.envelope import CloudEvent, nats_headers, new_event
from libs.observability import (
    add_span_processor,
    configure_logging,
    configure_tracing,
    consuming,
    get_logger,
    otlp_traces_url,
    tracer,
)
from libs.settings import Settings

SETTINGS = Settings(environment="test")


def test_an_event_created_outside_any_trace_has_no_trace_extension() -> None:
    event = new_event("untraced-unit", "ew.unit.thing.happened", "t-1", {"id": "t-1"})
    assert event.traceparent is None
    dumped = event.model_dump(mode="json")
    assert "traceparent" not in dumped and "tracestate" not in dumped
    assert "traceparent" not in json.loads(event.model_dump_json())
    assert "ce-traceparent" not in nats_headers(dumped)


def test_an_event_carries_the_trace_it_was_created_in_and_its_consumer_joins_it() -> None:
    configure_tracing("unit-producer", SETTINGS)
    configure_tracing("unit-consumer", SETTINGS)
    exporter = InMemorySpanExporter()
    remove = add_span_processor(SimpleSpanProcessor(exporter))
    try:
        with tracer("unit-producer").start_as_current_span(
            "POST /v1/things", kind=SpanKind.SERVER
        ) as request:
            event = new_event("unit-producer", "ew.unit.thing.happened", "t-1", {"id": "t-1"})
        trace_id = request.get_span_context().trace_id
        assert event.traceparent is not None
        assert event.traceparent.split("-")[1] == format_trace_id(trace_id)
        wire = nats_headers(event.model_dump(mode="json"))
        assert wire["ce-traceparent"] == event.traceparent
        # what the consumer reads back from the stream
        received = CloudEvent.model_validate_json(event.model_dump_json())
        with consuming(
            "unit-consumer",
            "unit-things",
            event_type=received.type,
            event_id=received.id,
            traceparent=received.traceparent,
            tracestate=received.tracestate,
        ):
            pass
    finally:
        remove()
    spans = {span.name: span for span in exporter.get_finished_spans()}
    created = spans["create ew.unit.thing.happened"]
    consumed = spans["consume ew.unit.thing.happened"]
    assert created.kind is SpanKind.PRODUCER and consumed.kind is SpanKind.CONSUMER
    assert created.parent is not None and created.parent.span_id == request.get_span_context().span_id
    assert consumed.parent is not None and consumed.parent.span_id == created.context.span_id
    assert consumed.context.trace_id == trace_id
    assert consumed.resource.attributes["service.name"] == "eastwest-unit-consumer"
    assert consumed.attributes is not None and consumed.attributes["messaging.message.id"] == event.id


def test_without_a_processor_nothing_is_recorded_but_logs_still_carry_trace_ids() -> None:
    configure_tracing("unit-quiet", SETTINGS)
    exporter = InMemorySpanExporter()
    stream = io.StringIO()
    configure_logging("INFO", json_logs=True, stream=stream)
    try:
        with tracer("unit-quiet").start_as_current_span("GET /v1/things", kind=SpanKind.SERVER) as span:
            get_logger("unit").info("unit.inside")
        get_logger("unit").info("unit.outside")
    finally:
        configure_logging("WARNING", json_logs=False)
    assert not span.is_recording() and exporter.get_finished_spans() == ()
    inside, outside = (json.loads(line) for line in stream.getvalue().splitlines())
    assert inside["trace_id"] == format_trace_id(span.get_span_context().trace_id)
    assert len(inside["span_id"]) == 16
    assert "trace_id" not in outside


def test_database_calls_outside_a_unit_of_work_start_no_trace() -> None:
    configure_tracing("unit-poller", SETTINGS)
    exporter = InMemorySpanExporter()
    remove = add_span_processor(SimpleSpanProcessor(exporter))
    try:
        with tracer("unit-poller").start_as_current_span("SELECT outbox", kind=SpanKind.CLIENT):
            pass
        poller = tracer("unit-poller")
        with (
            poller.start_as_current_span("deliver webhook"),  # a unit of work
            poller.start_as_current_span("POST", kind=SpanKind.CLIENT),
        ):
            pass
    finally:
        remove()
    assert sorted(span.name for span in exporter.get_finished_spans()) == ["POST", "deliver webhook"]


def test_tracing_off_makes_no_spans() -> None:
    assert configure_tracing("unit-off", Settings(tracing=False)) is None
    with tracer("unit-off").start_as_current_span("anything") as span:
        assert not span.get_span_context().is_valid


def test_the_collector_base_url_gets_the_traces_path() -> None:
    assert otlp_traces_url("http://collector:4318") == "http://collector:4318/v1/traces"
    assert otlp_traces_url("http://collector:4318/") == "http://collector:4318/v1/traces"
    assert otlp_traces_url("https://otel.example/custom/traces") == "https://otel.example/custom/traces"
