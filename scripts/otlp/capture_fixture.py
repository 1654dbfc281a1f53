"""Captures the exact OTLP/HTTP protobuf bodies the official Python exporter POSTs.

Writes Tests/TernIngestTests/Fixtures/otel-python-genai.pb (compression none) and
otel-python-genai.pb.gz (compression gzip): one small trace, a root span "chat-session" and a
child GenAI span "chat gpt-4o-mini", exported by opentelemetry-exporter-otlp-proto-http to a
throwaway http.server on 127.0.0.1 that saves each request body as received.

Ids and timestamps are fixed so a rerun reproduces the same spans; only the resource's
service.instance.id (a UUID the SDK makes) and the gzip header's bytes change between runs.
Captured with (pip, Python 3.11):
    opentelemetry-api 1.45.2, opentelemetry-sdk 1.45.2, opentelemetry-proto 1.45.2,
    opentelemetry-exporter-otlp-proto-http 1.45.2, opentelemetry-exporter-otlp-proto-common 1.45.2,
    protobuf 7.36.2, requests 2.34.2

    python3 -m venv /tmp/otel-venv
    /tmp/otel-venv/bin/pip install opentelemetry-sdk opentelemetry-exporter-otlp-proto-http
    /tmp/otel-venv/bin/python scripts/otlp/capture_fixture.py [OUTPUT_DIR]
"""
import gzip
import http.server
import json
import sys
import threading
from importlib import metadata
from pathlib import Path

from opentelemetry import trace
from opentelemetry.exporter.otlp.proto.http import Compression
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from opentelemetry.sdk.trace.id_generator import IdGenerator
from opentelemetry.trace import SpanKind, Status, StatusCode

TRACE_ID = 0x4BF92F3577B34DA6A3CE929D0E0E4736
ROOT_SPAN_ID = 0x00F067AA0BA902B7
CHAT_SPAN_ID = 0x53995C3F42CD8AD8
START_NS = 1_767_225_600_000_000_000  # 2026-01-01T00:00:00Z

ROOT = Path(__file__).resolve().parents[2]
OUT = Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "Tests" / "TernIngestTests" / "Fixtures"


class FixedIds(IdGenerator):
    """Hands out the fixture's ids so reruns produce the same spans."""

    def __init__(self):
        self._spans = iter([ROOT_SPAN_ID, CHAT_SPAN_ID])

    def generate_trace_id(self):
        return TRACE_ID

    def generate_span_id(self):
        return next(self._spans)


received = []


class Collector(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        received.append((self.path, {k.lower(): v for k, v in self.headers.items()}, body))
        self.send_response(200)
        self.send_header("Content-Type", "application/x-protobuf")
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass


def export_once(endpoint, compression):
    provider = TracerProvider(
        resource=Resource.create({"service.name": "tern-fixture-app", "service.version": "1.2.3"}),
        id_generator=FixedIds(),
    )
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(endpoint=endpoint, compression=compression)))
    tracer = provider.get_tracer("tern.fixture", "0.1.0")
    root = tracer.start_span("chat-session", kind=SpanKind.INTERNAL, start_time=START_NS)
    with trace.use_span(root, end_on_exit=False):
        chat = tracer.start_span(
            "chat gpt-4o-mini",
            kind=SpanKind.CLIENT,
            start_time=START_NS + 5_000_000,
            attributes={
                "gen_ai.operation.name": "chat",
                "gen_ai.provider.name": "openai",
                "gen_ai.request.model": "gpt-4o-mini",
                "gen_ai.response.model": "gpt-4o-mini-2024-07-18",
                "gen_ai.usage.input_tokens": 120,
                "gen_ai.usage.output_tokens": 35,
                "gen_ai.request.temperature": 0.2,
                "gen_ai.request.max_tokens": 256,
                "gen_ai.response.finish_reasons": ["stop"],
                "gen_ai.input.messages": json.dumps(
                    [{"role": "user", "parts": [{"type": "text", "content": "What is the capital of France?"}]}]
                ),
                "gen_ai.output.messages": json.dumps(
                    [{"role": "assistant", "parts": [{"type": "text", "content": "Paris."}], "finish_reason": "stop"}]
                ),
                "gen_ai.conversation.id": "conv-42",
                "user.id": "user-7",
            },
        )
        chat.add_event("gen_ai.choice", {"index": 0}, timestamp=START_NS + 800_000_000)
        chat.set_status(Status(StatusCode.OK))
        chat.end(end_time=START_NS + 850_000_000)
    root.end(end_time=START_NS + 900_000_000)
    provider.force_flush()
    provider.shutdown()


def main():
    server = http.server.HTTPServer(("127.0.0.1", 0), Collector)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    endpoint = f"http://127.0.0.1:{server.server_port}/v1/traces"
    try:
        export_once(endpoint, Compression.NoCompression)
        export_once(endpoint, Compression.Gzip)
    finally:
        server.shutdown()
    if len(received) != 2:
        sys.exit(f"expected 2 requests, got {len(received)}")
    (path1, headers1, plain), (path2, headers2, zipped) = received
    assert path1 == path2 == "/v1/traces", (path1, path2)
    assert headers1.get("content-type") == "application/x-protobuf", headers1
    assert "content-encoding" not in headers1, headers1
    assert headers2.get("content-encoding") == "gzip", headers2
    assert gzip.decompress(zipped) == plain, "gzip body does not inflate to the plain body"
    request = ExportTraceServiceRequest.FromString(plain)
    spans = [s for rs in request.resource_spans for ss in rs.scope_spans for s in ss.spans]
    assert sorted(s.name for s in spans) == ["chat gpt-4o-mini", "chat-session"], [s.name for s in spans]
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "otel-python-genai.pb").write_bytes(plain)
    (OUT / "otel-python-genai.pb.gz").write_bytes(zipped)
    versions = {p: metadata.version(p) for p in (
        "opentelemetry-api", "opentelemetry-sdk", "opentelemetry-proto", "opentelemetry-exporter-otlp-proto-http",
        "opentelemetry-exporter-otlp-proto-common", "protobuf", "requests")}
    print(json.dumps({"plain_bytes": len(plain), "gzip_bytes": len(zipped), "user_agent": headers1.get("user-agent"),
                      "spans": len(spans), "versions": versions, "out": str(OUT)}))


if __name__ == "__main__":
    main()
