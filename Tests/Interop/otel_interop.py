"""Interop check: the official OpenTelemetry Python SDK and OTLP/HTTP protobuf exporter against Tern.

Run by the Swift test suite against a live server with TERN_URL (the server root, e.g.
http://127.0.0.1:8080, no /v1) and TERN_API_KEY (a project key that may send traces). Needs
opentelemetry-sdk and opentelemetry-exporter-otlp-proto-http (checked with 1.45.2).

Exports two traces to POST {TERN_URL}/v1/traces as application/x-protobuf: one gzip-compressed
through a BatchSpanProcessor (one request for both spans), one uncompressed through a
SimpleSpanProcessor (one request per span, child first). Each has a root span and a GenAI chat
span under it. Then reads GET {TERN_URL}/api/v1/traces/{trace_id} until the trace is there and
checks the generation: model, usage, cost, parent, and the trace's user and session. Prints one
line per check, exits non-zero on the first failure, and ends with a one-line JSON summary.
"""
import json
import logging
import os
import sys
import time
import urllib.error
import urllib.request
import uuid

import requests
from opentelemetry.exporter.otlp.proto.http import Compression
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SimpleSpanProcessor, SpanExporter, SpanExportResult
from opentelemetry.trace import SpanKind, Status, StatusCode

logging.basicConfig(level=logging.WARNING, stream=sys.stderr)  # the exporter logs HTTP failures here

base_url = os.environ["TERN_URL"].rstrip("/")
api_key = os.environ["TERN_API_KEY"]
REQUEST_MODEL = "gpt-4o-mini"
RESPONSE_MODEL = "gpt-4o-mini-2024-07-18"
POLL_SECONDS = 10.0


def check(name, condition, detail=""):
    if not condition:
        print(f"FAIL {name} {detail}")
        sys.exit(1)
    print(f"ok {name}")


class RecordingExporter(SpanExporter):
    """Delegates to the OTLP exporter and keeps each export's result (processors swallow failures)."""

    def __init__(self, inner):
        self.inner = inner
        self.results = []

    def export(self, spans):
        result = self.inner.export(spans)
        self.results.append(result)
        return result

    def shutdown(self):
        self.inner.shutdown()

    def force_flush(self, timeout_millis=30000):
        return self.inner.force_flush(timeout_millis)


def send_trace(compression, batch):
    """Exports one trace; returns (trace_id_hex, root_span_id_hex, chat_span_id_hex, user, session, http log)."""
    http_log = []
    session = requests.Session()
    session.hooks["response"].append(
        lambda response, *args, **kwargs: http_log.append(
            (response.status_code, response.request.headers.get("Content-Type"),
             response.request.headers.get("Content-Encoding"), response.text[:300])
        )
    )
    exporter = RecordingExporter(OTLPSpanExporter(
        endpoint=f"{base_url}/v1/traces",
        headers={"Authorization": f"Bearer {api_key}"},
        compression=compression,
        timeout=10,
        session=session,
    ))
    provider = TracerProvider(resource=Resource.create({"service.name": "tern-otel-interop", "service.version": "0.0.1"}))
    provider.add_span_processor(BatchSpanProcessor(exporter) if batch else SimpleSpanProcessor(exporter))
    tracer = provider.get_tracer("tern.interop", "1.0.0")
    user, conversation = f"user-{uuid.uuid4().hex[:8]}", f"conv-{uuid.uuid4().hex[:8]}"

    with tracer.start_as_current_span("otel-interop-session") as root:
        with tracer.start_as_current_span(f"chat {REQUEST_MODEL}", kind=SpanKind.CLIENT) as chat:
            chat.set_attributes({
                "gen_ai.operation.name": "chat",
                "gen_ai.provider.name": "openai",
                "gen_ai.request.model": REQUEST_MODEL,
                "gen_ai.response.model": RESPONSE_MODEL,
                "gen_ai.request.temperature": 0.2,
                "gen_ai.request.max_tokens": 600,
                "gen_ai.usage.input_tokens": 1000,
                "gen_ai.usage.output_tokens": 500,
                "gen_ai.response.finish_reasons": ["stop"],
                "gen_ai.input.messages": json.dumps([{"role": "user", "parts": [{"type": "text", "content": "Say hi"}]}]),
                "gen_ai.output.messages": json.dumps(
                    [{"role": "assistant", "parts": [{"type": "text", "content": "Hi!"}], "finish_reason": "stop"}]
                ),
                "gen_ai.conversation.id": conversation,
                "user.id": user,
            })
            chat.set_status(Status(StatusCode.OK))
    flushed = provider.force_flush(timeout_millis=15000)
    provider.shutdown()

    label = f"{compression.value}.export"
    check(f"{label}.flushed", flushed, "force_flush timed out")
    check(f"{label}.sent", len(http_log) == (1 if batch else 2), repr(http_log))
    for status, content_type, encoding, body in http_log:
        check(f"{label}.status", status == 200, f"HTTP {status}: {body}")
        check(f"{label}.content_type", content_type == "application/x-protobuf", repr(content_type))
        expected_encoding = None if compression == Compression.NoCompression else compression.value
        check(f"{label}.content_encoding", encoding == expected_encoding, repr(encoding))
    check(f"{label}.results", exporter.results and all(r == SpanExportResult.SUCCESS for r in exporter.results), repr(exporter.results))
    return (
        format(root.get_span_context().trace_id, "032x"),
        format(root.get_span_context().span_id, "016x"),
        format(chat.get_span_context().span_id, "016x"),
        user,
        conversation,
    )


def get_trace(trace_id):
    """Polls the trace detail until both observations are there (bounded); returns the JSON or fails."""
    deadline = time.monotonic() + POLL_SECONDS
    last = ""
    while True:
        request = urllib.request.Request(f"{base_url}/api/v1/traces/{trace_id}", headers={"Authorization": f"Bearer {api_key}"})
        try:
            with urllib.request.urlopen(request, timeout=5) as response:
                detail = json.loads(response.read())
                if len(detail.get("observations", [])) >= 2:
                    return detail
                last = f"{len(detail.get('observations', []))} observation(s) so far"
        except urllib.error.HTTPError as error:
            last = f"HTTP {error.code}: {error.read()[:300]!r}"
            if error.code != 404:
                break
        except urllib.error.URLError as error:
            last = repr(error)
        if time.monotonic() > deadline:
            break
        time.sleep(0.2)
    check(f"trace {trace_id} readable within {POLL_SECONDS:.0f}s", False, last)


summary = []
for compression, batch in [(Compression.Gzip, True), (Compression.NoCompression, False)]:
    trace_id, root_id, chat_id, user, conversation = send_trace(compression, batch)
    detail = get_trace(trace_id)
    label = compression.value
    observations = {o["id"]: o for o in detail["observations"]}
    generation = observations.get(chat_id)
    root = observations.get(root_id)
    check(f"{label}.observations", generation is not None and root is not None, json.dumps(detail["observations"])[:500])
    check(f"{label}.generation.type", generation.get("type") == "generation", repr(generation.get("type")))
    check(f"{label}.generation.model", generation.get("model") in (REQUEST_MODEL, RESPONSE_MODEL), repr(generation.get("model")))
    usage = generation.get("usage") or {}
    check(f"{label}.generation.usage", usage.get("input_tokens") == 1000 and usage.get("output_tokens") == 500, repr(usage))
    cost = generation.get("cost")
    check(f"{label}.generation.cost", isinstance(cost, (int, float)) and cost > 0, repr(cost))
    check(f"{label}.generation.parent", generation.get("parent_id") == root_id, f"{generation.get('parent_id')!r} != {root_id!r}")
    check(f"{label}.root.parent", root.get("parent_id") is None, repr(root.get("parent_id")))
    check(f"{label}.root.type", root.get("type") == "span", repr(root.get("type")))
    t = detail["trace"]
    check(f"{label}.trace.id", t.get("id") == trace_id, repr(t.get("id")))
    check(f"{label}.trace.user_id", t.get("user_id") == user, f"{t.get('user_id')!r} != {user!r}")
    check(f"{label}.trace.session_id", t.get("session_id") == conversation, f"{t.get('session_id')!r} != {conversation!r}")
    print(f"{label}: trace {trace_id} cost ${cost:.6f} model {generation.get('model')}")
    summary.append({"compression": label, "trace_id": trace_id, "model": generation.get("model"), "input_tokens": usage.get("input_tokens"),
                    "output_tokens": usage.get("output_tokens"), "cost": cost})

print(json.dumps({"ok": True, "traces": summary}))
