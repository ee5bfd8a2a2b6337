"""One job followed as one trace: the POST in supply, the event it writes to the outbox, and the handlers of
feed and matching that consume it, across NATS (an in-memory exporter on the platform's span pipeline)."""

from __future__ import annotations

import io
import json
import os
import threading
from collections.abc import Iterator, Sequence
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, format_trace_id
from sqlalchemy import select

from libs.events.contracts import JOB_PUBLISHED
from libs.observability import (
    add_span_processor,
    configure_logging,
    configure_tracing,
    otlp_span_processor,
    tracer,
)
from libs.settings import Settings
from services.supply.models import platform as supply_tables
from tests.factories import person_body
from tests.harness import ADMIN, Platform, auth, eventually
from tests.integration.test_demand import new_station, register
from tests.integration.test_matching import new_employer, new_job
from tests.integration.test_passenger_contacts import in_process_contacts

CONSUME = f"consume {JOB_PUBLISHED}"


@pytest.fixture
def spans() -> Iterator[InMemorySpanExporter]:
    exporter = InMemorySpanExporter()
    remove = add_span_processor(SimpleSpanProcessor(exporter))
    try:
        yield exporter
    finally:
        remove()


def service_of(span: ReadableSpan) -> str:
    return str(span.resource.attributes["service.name"])


def chain(span: ReadableSpan, by_id: dict[int, ReadableSpan]) -> list[ReadableSpan]:
    """The span and its ancestors, nearest first, as far as the recorded spans reach."""
    found = [span]
    while found[-1].parent is not None and found[-1].parent.span_id in by_id:
        found.append(by_id[found[-1].parent.span_id])
    return found


def consumer_spans(exporter: InMemorySpanExporter, job_id: str) -> dict[str, ReadableSpan]:
    """The finished handler spans of the job's publication, by consuming service."""
    spans: Sequence[ReadableSpan] = exporter.get_finished_spans()
    return {
        str(span.attributes["ew.service"]): span
        for span in spans
        if span.name == CONSUME and span.kind is SpanKind.CONSUMER and span.attributes is not None
    }


async def test_a_posted_job_and_its_consumers_are_one_trace(
    platform: Platform, spans: InMemorySpanExporter
) -> None:
    employer_id = await new_employer(platform)
    spans.clear()
    logs = io.StringIO()
    configure_logging("INFO", json_logs=True, stream=logs)
    try:
        job_id = await new_job(platform, employer_id)
    finally:
        configure_logging(os.environ.get("EW_TEST_LOG_LEVEL", "WARNING"), json_logs=False)

    async def handled() -> bool:
        return {"feed", "matching"} <= set(consumer_spans(spans, job_id))

    await eventually(handled, what="feed's and matching's handlers of the job's publication")

    finished = list(spans.get_finished_spans())
    by_id = {span.context.span_id: span for span in finished}
    servers = [s for s in finished if s.kind is SpanKind.SERVER and s.name == "POST /v1/jobs"]
    assert len(servers) == 1, [s.name for s in servers]  # the gateway adds no second server span
    post = servers[0]
    assert service_of(post) == "eastwest-supply"
    trace_id = post.context.trace_id

    # The event carries the trace context it was created in, stored with it in the outbox.
    async with platform.runtime("supply").sessions() as session:
        envelopes = (
            await session.scalars(
                select(supply_tables.outbox.c.envelope).where(supply_tables.outbox.c.subject == JOB_PUBLISHED)
            )
        ).all()
    mine = [envelope for envelope in envelopes if envelope["data"]["id"] == job_id]
    assert len(mine) == 1 and mine[0]["traceparent"].split("-")[1] == format_trace_id(trace_id)

    handlers = consumer_spans(spans, job_id)
    for service in ("feed", "matching"):
        span = handlers[service]
        assert service_of(span) == f"eastwest-{service}"
        assert span.context.trace_id == trace_id, service
        assert span.attributes is not None
        assert span.attributes["messaging.destination.name"] == JOB_PUBLISHED
        assert span.attributes["messaging.message.id"] == mine[0]["id"]
        ancestors = chain(span, by_id)
        assert ancestors[-1] is post, [a.name for a in ancestors]
        assert ancestors[1].name == f"create {JOB_PUBLISHED}" and ancestors[1].kind is SpanKind.PRODUCER
        # the handler's statements are its children: text recorded, parameters never
        statements = [
            s for s in finished if s.parent is not None and s.parent.span_id == span.context.span_id
        ]
        assert statements and all(s.kind is SpanKind.CLIENT for s in statements)

    # the POST's own statements: the job's INSERT is recorded as text, its values (the title) are not
    texts = [
        str(s.attributes.get("db.statement", ""))
        for s in finished
        if s.attributes is not None and chain(s, by_id)[-1] is post
    ]
    assert any(text.startswith("INSERT INTO jobs") for text in texts), texts
    assert not any("电子产品装配工" in text for text in texts)

    # The JSON log line of the POST carries its trace id.
    lines = [json.loads(line) for line in logs.getvalue().splitlines() if line.startswith("{")]
    posted = [
        line for line in lines if line.get("event") == "http.request" and line.get("route") == "/v1/jobs"
    ]
    assert posted and posted[0]["trace_id"] == format_trace_id(trace_id)


async def test_spans_carry_no_personal_data_and_no_query(
    platform: Platform, spans: InMemorySpanExporter
) -> None:
    station_id = await new_station(platform)
    token = auth("station", station_id=station_id)
    body = person_body(station_id, 7301)
    created = await platform.client.post("/v1/persons", json=body, headers=token)
    assert created.status_code == 201, created.text
    person_id = created.json()["id"]
    new_phone = "13900007302"
    patched = await platform.client.patch(
        f"/v1/persons/{person_id}", json={"phone": new_phone}, headers=token
    )
    assert patched.status_code == 200, patched.text
    listed = await platform.client.get(
        "/v1/persons", params={"station_id": station_id, "status": "seeking"}, headers=token
    )
    assert listed.status_code == 200
    feed = await platform.client.get("/v1/feed", params={"city_code": "3205"}, headers=ADMIN)
    assert feed.status_code == 200

    async def persons_consumed() -> bool:
        return any(s.name.startswith("consume ew.demand.person.") for s in spans.get_finished_spans())

    await eventually(persons_consumed, what="a consumer of the new person's event")
    planted = [body["id_number"], body["phone"], new_phone, body["name"]]
    leaked = []
    for span in spans.get_finished_spans():
        text = span.name + json.dumps(dict(span.attributes or {}), ensure_ascii=False, default=str)
        text += "".join(json.dumps(dict(e.attributes or {}), ensure_ascii=False) for e in span.events)
        leaked += [(span.name, value) for value in planted if value in text]
        assert "status=seeking" not in text and "city_code=3205" not in text, span.name
    assert leaked == []
    servers = {s.name for s in spans.get_finished_spans() if s.kind is SpanKind.SERVER}
    assert {"POST /v1/persons", "PATCH /v1/persons/{person_id}", "GET /v1/persons", "GET /v1/feed"} <= servers


def test_spans_go_to_the_configured_collector_over_otlp_http() -> None:
    """A stand-in collector on loopback receives the batch at /v1/traces as protobuf."""
    received: list[tuple[str, str, bytes]] = []

    class Collector(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            received.append((self.path, self.headers.get("Content-Type", ""), body))
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = HTTPServer(("127.0.0.1", 0), Collector)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    configure_tracing("otlp-unit", Settings(environment="test"))
    processor = otlp_span_processor(f"http://127.0.0.1:{server.server_port}")
    remove = add_span_processor(processor)
    try:
        with tracer("otlp-unit").start_as_current_span("POST /v1/things", kind=SpanKind.SERVER):
            pass
        assert processor.force_flush(10_000)
    finally:
        remove()
        processor.shutdown()
        server.shutdown()
        thread.join()
    assert [(path, kind) for path, kind, _ in received] == [("/v1/traces", "application/x-protobuf")]
    assert b"POST /v1/things" in received[0][2] and b"eastwest-otlp-unit" in received[0][2]


async def test_the_internal_call_from_bus_to_demand_is_one_trace(
    platform: Platform, spans: InMemorySpanExporter
) -> None:
    station_id = await new_station(platform)
    worker = await register(platform, station_id, 7401)
    body = person_body(station_id, 7401)
    with tracer("bus").start_as_current_span(
        "GET /v1/trips/{trip_id}/manifest", kind=SpanKind.SERVER
    ) as root:
        contacts = await in_process_contacts(platform).lookup([worker["id"]])
    assert contacts[worker["id"]].phone == body["phone"]
    finished = list(spans.get_finished_spans())
    by_id = {span.context.span_id: span for span in finished}
    # in-process (ASGI transport, the client's span still current) the ASGI instrumentation makes it an
    # INTERNAL span; over the network it is a SERVER span: either way a child of bus's client span
    served = [s for s in finished if s.name == "POST /internal/v1/person-contacts"]
    assert len(served) == 1 and service_of(served[0]) == "eastwest-demand"
    ancestors = chain(served[0], by_id)
    assert [service_of(span) for span in ancestors[:2]] == ["eastwest-demand", "eastwest-bus"]
    assert (
        ancestors[1].kind is SpanKind.CLIENT
        and ancestors[-1].context.span_id == root.get_span_context().span_id
    )
    text = json.dumps([dict(span.attributes or {}) for span in finished], ensure_ascii=False)
    assert body["phone"] not in text and body["name"] not in text
