"""Load generator for bench/ingest/run.sh: posts trace batches to a running Tern for a fixed time.

    python3 load.py --url http://127.0.0.1:7777 --key tern_... --mode ingest|otlp [--duration 30]
                    [--concurrency 4] [--traces 100] [--spans 5] [--warmup 3] [--json out.json]

ingest: POST /api/v1/ingest, each request `traces` trace-create events plus `spans` observations per
        trace (a root span and generations with model, usage, texts, metadata) = traces * (1 + spans)
        events (600 with the defaults).
otlp:   POST /v1/traces as application/x-protobuf (ExportTraceServiceRequest), `traces` traces of
        `spans` spans each (a root span and GenAI chat spans with gen_ai.* attributes).

Every id is fresh and random in every request (uuid4-like ids and random OTLP trace/span ids, as SDKs
make them), so nothing is deduplicated and the B-trees see random keys. The request bodies are
built once as templates with fixed-size id slots; a request only draws random bytes and joins the
template, so the client costs little CPU (reported: client CPU seconds vs wall seconds).

Worker processes (not threads: no GIL contention), one keep-alive connection each. Counts only what
the server acknowledged: ingest answers 207 with every event in `successes` and an empty `errors`;
OTLP answers 200. Prints and writes JSON: requests, acknowledged observations and traces, the
measured phase's rate (after --warmup seconds), request latency percentiles, failures.
"""
import argparse
import http.client
import json
import multiprocessing as mp
import os
import resource
import struct
import sys
import time
import urllib.parse


class Slot:
    """A placeholder filled per request: `size` random bytes (protobuf) or a uuid-like id (JSON)."""

    def __init__(self, key, size=0):
        self.key = key
        self.size = size


def flatten(chunks):
    """Merges adjacent bytes; returns a list of bytes and Slot."""
    out = []
    for chunk in chunks:
        if isinstance(chunk, (bytes, bytearray)):
            if out and isinstance(out[-1], bytearray):
                out[-1] += chunk
            else:
                out.append(bytearray(chunk))
        else:
            out.append(chunk)
    return [bytes(c) if isinstance(c, bytearray) else c for c in out]


class Template:
    def __init__(self, chunks, keys):
        self.parts = flatten(chunks)
        self.keys = keys  # key -> size (0: text id)

    def render(self):
        values = {}
        for key, size in self.keys.items():
            raw = os.urandom(size or 16)
            if size:
                if raw[:1] == b"\0":
                    raw = b"\1" + raw[1:]  # all-zero ids are invalid in OTLP
                values[key] = raw
            else:
                h = raw.hex()
                values[key] = f"{h[:8]}-{h[8:12]}-4{h[13:16]}-a{h[17:20]}-{h[20:32]}".encode()
        return b"".join(p if isinstance(p, bytes) else values[p.key] for p in self.parts)


MODELS = [("gpt-4o-mini", "openai", 6), ("gpt-4.1-mini", "openai", 2), ("claude-3-5-haiku", "anthropic", 1), ("gpt-4o", "openai", 1)]
TASKS = ["chat", "rag-answer", "summarize", "extract", "classify"]
LANGS = ["en", "en", "en", "de", "fr", "es"]


def model_for(i):
    table = [m for m in MODELS for _ in range(m[2])]
    return table[i % len(table)]


# ---------- /api/v1/ingest (JSON) ----------

def ingest_template(traces, spans, base):
    chunks, keys = [], {}

    def slot(key):
        keys[key] = 0
        return Slot(key)

    def lit(text):
        chunks.append(text.encode())

    lit('{"batch":[')
    first = True
    for t in range(traces):
        start = base + t * 0.01
        tid = f"t{t}"
        task = TASKS[t % len(TASKS)]
        if not first:
            lit(",")
        first = False
        lit('{"id":"'); chunks.append(slot(tid)); lit('","type":"trace-create","body":{"id":"'); chunks.append(slot(tid))
        lit('","name":"%s-turn","user_id":"user-%04d","session_id":"sess-%05d","tags":["web","bench"],'
            '"metadata":{"task":"%s","language":"%s","domain":"support"},"environment":"production","release":"2026.11.3",'
            '"input":"How do I reset my password on the mobile app?","output":"Open Settings, then Security.","timestamp":%.3f}}'
            % (task, t % 500, t % 2000, task, LANGS[t % len(LANGS)], start))
        root = f"o{t}-0"
        for s in range(spans):
            oid = f"o{t}-{s}"
            s_start = start + 0.001 + s * 0.4
            lit(',{"id":"'); chunks.append(slot(oid))
            if s == 0:
                lit('","type":"span-create","body":{"id":"'); chunks.append(slot(oid)); lit('","trace_id":"'); chunks.append(slot(tid))
                lit('","name":"handle-request","start_time":%.3f,"end_time":%.3f}}' % (s_start, start + 0.4 * spans + 0.1))
            else:
                model, provider, _ = model_for(t + s)
                lit('","type":"generation-create","body":{"id":"'); chunks.append(slot(oid)); lit('","trace_id":"'); chunks.append(slot(tid))
                lit('","parent_observation_id":"'); chunks.append(slot(root))
                lit('","name":"llm-call-%d","model":"%s","provider":"%s","start_time":%.3f,"end_time":%.3f,'
                    '"completion_start_time":%.3f,"usage":{"input":%d,"output":%d},"model_parameters":{"temperature":0.2},'
                    '"input":[{"role":"user","content":"How do I reset my password on the mobile app?"}],'
                    '"output":"Open Settings, then Security, then Reset password.","metadata":{"attempt":1}}}'
                    % (s, model, provider, s_start, s_start + 0.35, s_start + 0.12, 300 + 37 * ((t * s) % 40), 40 + (t + s) % 200))
    lit("]}")
    return Template(chunks, keys)


# ---------- /v1/traces (OTLP protobuf) ----------

def varint(n):
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def size(chunks):
    return sum(c.size if isinstance(c, Slot) else len(c) for c in chunks)


def ld(field, chunks):
    """A length-delimited field around chunks (a list of bytes and fixed-size Slots)."""
    if isinstance(chunks, (bytes, str)):
        chunks = [chunks.encode() if isinstance(chunks, str) else chunks]
    return [varint(field << 3 | 2), varint(size(chunks))] + list(chunks)


def fixed64(field, n):
    return [varint(field << 3 | 1), struct.pack("<Q", n)]


def vint(field, n):
    return [varint(field << 3 | 0), varint(n)]


def any_value(value):
    if isinstance(value, bool):
        return vint(2, int(value))
    if isinstance(value, int):
        return vint(3, value)
    if isinstance(value, float):
        return [varint(4 << 3 | 1), struct.pack("<d", value)]
    return ld(1, value)


def key_value(field, key, value):
    return ld(field, ld(1, key) + ld(2, any_value(value)))


def otlp_template(traces, spans, base):
    keys = {}

    def slot(key, n):
        keys[key] = n
        return Slot(key, n)

    resource_chunks = []
    for k, v in [("service.name", "bench-app"), ("service.version", "2026.11.3"), ("deployment.environment.name", "production")]:
        resource_chunks += key_value(1, k, v)
    span_chunks = []
    for t in range(traces):
        start_ns = int((base + t * 0.01) * 1e9)
        for s in range(spans):
            sp = []
            sp += ld(1, [slot(f"t{t}", 16)])
            sp += ld(2, [slot(f"s{t}-{s}", 8)])
            if s > 0:
                sp += ld(4, [slot(f"s{t}-0", 8)])
            s_start = start_ns + 1_000_000 + s * 400_000_000
            if s == 0:
                sp += ld(5, "handle-request")
                sp += vint(6, 2)  # SERVER
                sp += fixed64(7, start_ns)
                sp += fixed64(8, start_ns + spans * 400_000_000 + 100_000_000)
                sp += key_value(9, "user.id", "user-%04d" % (t % 500))
                sp += key_value(9, "session.id", "sess-%05d" % (t % 2000))
                sp += key_value(9, "input.value", "How do I reset my password on the mobile app?")
                sp += key_value(9, "output.value", "Open Settings, then Security.")
            else:
                model, provider, _ = model_for(t + s)
                sp += ld(5, "chat " + model)
                sp += vint(6, 3)  # CLIENT
                sp += fixed64(7, s_start)
                sp += fixed64(8, s_start + 350_000_000)
                for k, v in [("gen_ai.operation.name", "chat"), ("gen_ai.provider.name", provider), ("gen_ai.request.model", model),
                             ("gen_ai.response.model", model), ("gen_ai.request.temperature", 0.2),
                             ("gen_ai.usage.input_tokens", 300 + 37 * ((t * s) % 40)), ("gen_ai.usage.output_tokens", 40 + (t + s) % 200),
                             ("gen_ai.input.messages", '[{"role":"user","parts":[{"type":"text","content":"How do I reset my password?"}]}]'),
                             ("gen_ai.output.messages", '[{"role":"assistant","parts":[{"type":"text","content":"Open Settings."}]}]')]:
                    sp += key_value(9, k, v)
            sp += ld(15, [])  # status: unset
            span_chunks += ld(2, sp)
    scope = ld(1, ld(1, "bench") + ld(2, "1.0")) + span_chunks
    resource_spans = ld(1, resource_chunks) + ld(2, scope)
    body = ld(1, resource_spans)
    return Template(body, keys)


# ---------- workers ----------

def worker(index, args, start_at, results):
    parsed = urllib.parse.urlparse(args.url)
    base = time.time()
    if args.mode == "ingest":
        template = ingest_template(args.traces, args.spans, base)
        path, ctype = "/api/v1/ingest", "application/json"
        events = args.traces * (1 + args.spans)
    else:
        template = otlp_template(args.traces, args.spans, base)
        path, ctype = "/v1/traces", "application/x-protobuf"
        events = None
    headers = {"Content-Type": ctype, "Authorization": "Bearer " + args.key}
    conn = http.client.HTTPConnection(parsed.hostname, parsed.port, timeout=120)
    while time.time() < start_at:
        time.sleep(0.005)
    measure_from = start_at + args.warmup
    stop_at = measure_from + args.duration
    stats = {"requests": 0, "ok": 0, "failed": 0, "observations": 0, "traces": 0, "measured_requests": 0,
             "measured_observations": 0, "latencies": [], "errors": [], "body_bytes": 0, "done_at": []}
    per_request_obs = args.traces * args.spans
    while True:
        now = time.time()
        if now >= stop_at:
            break
        body = template.render()
        t0 = time.perf_counter()
        try:
            conn.request("POST", path, body=body, headers=headers)
            resp = conn.getresponse()
            data = resp.read()
        except Exception as e:  # noqa: BLE001 - a failed request is counted, the run goes on
            stats["failed"] += 1
            stats["errors"].append(repr(e)[:200])
            conn.close()
            conn = http.client.HTTPConnection(parsed.hostname, parsed.port, timeout=120)
            continue
        elapsed = time.perf_counter() - t0
        done = time.time()
        stats["requests"] += 1
        stats["body_bytes"] = len(body)
        good = resp.status == 200 if events is None else (resp.status == 207 and b'"errors":[]' in data)
        if not good:
            stats["failed"] += 1
            if len(stats["errors"]) < 5:
                stats["errors"].append(f"{resp.status}: {data[:300]!r}")
            continue
        stats["ok"] += 1
        stats["done_at"].append(done - start_at)
        stats["observations"] += per_request_obs
        stats["traces"] += args.traces
        if measure_from <= done <= stop_at:
            stats["measured_requests"] += 1
            stats["measured_observations"] += per_request_obs
            stats["latencies"].append(elapsed * 1000)
    conn.close()
    results.put(stats)


def pct(values, q):
    if not values:
        return None
    values = sorted(values)
    return values[max(1, min(len(values), int(-(-q * len(values) // 1)))) - 1]


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--url", required=True)
    p.add_argument("--key", required=True)
    p.add_argument("--mode", choices=["ingest", "otlp"], default="ingest")
    p.add_argument("--duration", type=float, default=30)
    p.add_argument("--warmup", type=float, default=3)
    p.add_argument("--concurrency", type=int, default=4)
    p.add_argument("--traces", type=int, default=100)
    p.add_argument("--spans", type=int, default=5)
    p.add_argument("--json")
    args = p.parse_args()

    results = mp.Queue()
    start_at = time.time() + 1.5  # templates are built before the clock starts
    procs = [mp.Process(target=worker, args=(i, args, start_at, results)) for i in range(args.concurrency)]
    for proc in procs:
        proc.start()
    collected = [results.get() for _ in procs]
    for proc in procs:
        proc.join()
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    total = {k: sum(s[k] for s in collected) for k in ["requests", "ok", "failed", "observations", "traces",
                                                       "measured_requests", "measured_observations"]}
    latencies = [x for s in collected for x in s["latencies"]]
    errors = [e for s in collected for e in s["errors"]]
    # Acknowledged observations per 5-second window from the start (warm-up included): shows a rate that
    # drifts. The last window may be shorter; requests that finished after the end count in it.
    per_request = args.traces * args.spans
    total_s = args.warmup + args.duration
    count = max(1, -int(-total_s // 5))
    windows = [0] * count
    for s in collected:
        for at in s["done_at"]:
            windows[min(count - 1, int(at // 5))] += per_request
    lengths = [min(5.0, total_s - 5 * i) for i in range(count)]
    timeline = [round(w / max(length, 1e-9)) for w, length in zip(windows, lengths)]
    out = {
        "mode": args.mode, "concurrency": args.concurrency, "duration_s": args.duration, "warmup_s": args.warmup,
        "traces_per_request": args.traces, "observations_per_request": args.traces * args.spans,
        "events_per_request": args.traces * (1 + args.spans) if args.mode == "ingest" else args.traces * args.spans,
        "body_bytes": max(s["body_bytes"] for s in collected),
        **total,
        "observations_per_s": total["measured_observations"] / args.duration,
        "requests_per_s": total["measured_requests"] / args.duration,
        "latency_ms": {"p50": pct(latencies, 0.5), "p95": pct(latencies, 0.95), "p99": pct(latencies, 0.99), "max": max(latencies, default=None)},
        "client_cpu_s": usage.ru_utime + usage.ru_stime,
        "client_wall_s": args.warmup + args.duration,
        "errors": errors[:5],
        "timeline_obs_per_s_5s": timeline,
    }
    print(f"{args.mode}: {out['observations_per_s']:,.0f} observations/s acknowledged over {args.duration:.0f} s "
          f"({out['requests_per_s']:.1f} requests/s of {out['observations_per_request']} observations, {out['body_bytes']:,} bytes), "
          f"p50 {out['latency_ms']['p50'] or 0:.1f} ms, p99 {out['latency_ms']['p99'] or 0:.1f} ms; "
          f"acknowledged in all {total['observations']:,} observations / {total['traces']:,} traces; failed requests {total['failed']}; "
          f"client CPU {out['client_cpu_s']:.1f} s in {out['client_wall_s']:.0f} s")
    print("  observations/s per 5 s window:", " ".join(f"{x:,}" for x in timeline))
    for e in errors[:3]:
        print("  error:", e)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(out, f, indent=1)
    return 0 if total["failed"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
