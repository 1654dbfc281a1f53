"""Times the UI's API calls against a running Tern: GET /api/v1/metrics and GET /api/v1/traces.

    python3 http_timing.py URL KEY RUNS OUT.json [MODEL] [TIMEOUT_S] [BUDGET_S]

One keep-alive connection, sequential requests; each call once as a warm-up, then RUNS times. The
time is from sending the request to having read the whole body (JSON encoding and transfer
included). A call that takes longer than TIMEOUT_S (default 60) is reported as timed out; a slow call
gets fewer runs (at most BUDGET_S seconds of runs, at least 3). The calls that filter on a model come
last, as they may run long. The range is the one tern-bench dashboard used: 30 days (and 24 hours) ending at the hour
after the newest trace.
"""
import http.client
import json
import sys
import time
import urllib.parse
from datetime import datetime, timedelta, timezone

url, key, runs, out = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
model = sys.argv[5] if len(sys.argv) > 5 else "gpt-4o"
timeout = float(sys.argv[6]) if len(sys.argv) > 6 else 60.0
budget = float(sys.argv[7]) if len(sys.argv) > 7 else 120.0
parsed = urllib.parse.urlparse(url)
headers = {"Authorization": "Bearer " + key}
conn = http.client.HTTPConnection(parsed.hostname, parsed.port, timeout=timeout)


def get(path):
    conn.request("GET", path, headers=headers)
    resp = conn.getresponse()
    body = resp.read()
    if resp.status != 200:
        raise SystemExit(f"GET {path}: {resp.status} {body[:300]!r}")
    return body


newest = json.loads(get("/api/v1/traces?limit=1"))["data"][0]
start = newest.get("start_time") or newest.get("trace", {}).get("start_time")
t = datetime.fromisoformat(start.replace("Z", "+00:00")).astimezone(timezone.utc)
end = t.replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)
iso = lambda d: d.strftime("%Y-%m-%dT%H:%M:%SZ")
r30 = f"from={iso(end - timedelta(days=30))}&to={iso(end)}"
r24 = f"from={iso(end - timedelta(days=1))}&to={iso(end)}"

page = json.loads(get("/api/v1/traces?limit=50"))
cursor = None
for _ in range(4):
    cursor = json.loads(get("/api/v1/traces?limit=50" + (f"&cursor={urllib.parse.quote(cursor)}" if cursor else "")))["next_cursor"]

calls = [
    ("metrics 30d totals (day)", f"/api/v1/metrics?{r30}&bucket=day"),
    ("metrics 30d by model (day)", f"/api/v1/metrics?{r30}&bucket=day&group_by=model"),
    ("metrics 30d by task (day)", f"/api/v1/metrics?{r30}&bucket=day&group_by=task"),
    ("metrics 30d by language (day)", f"/api/v1/metrics?{r30}&bucket=day&group_by=language"),
    ("metrics 30d by domain (day)", f"/api/v1/metrics?{r30}&bucket=day&group_by=domain"),
    ("metrics 30d by prompt (day)", f"/api/v1/metrics?{r30}&bucket=day&group_by=prompt"),
    ("metrics 30d by user (day)", f"/api/v1/metrics?{r30}&bucket=day&group_by=user"),
    ("metrics 30d by tag (day)", f"/api/v1/metrics?{r30}&bucket=day&group_by=tag"),
    ("metrics 24h totals (hour)", f"/api/v1/metrics?{r24}&bucket=hour"),
    ("traces first page", "/api/v1/traces?limit=50"),
    ("traces sort=cost", "/api/v1/traces?limit=50&sort=cost"),
    ("traces sort=latency", "/api/v1/traces?limit=50&sort=latency"),
    ("traces q=refund", "/api/v1/traces?limit=50&q=refund"),
    ("traces page 5 (cursor)", f"/api/v1/traces?limit=50&cursor={urllib.parse.quote(cursor)}"),
    (f"traces model={model} language=de", f"/api/v1/traces?limit=50&model={model}&language=de"),
    (f"metrics 30d model={model} (scan)", f"/api/v1/metrics?{r30}&bucket=day&model={model}"),
]


def pct(values, q):
    values = sorted(values)
    return values[max(1, min(len(values), -(-int(q * len(values) * 1000) // 1000))) - 1]


results = []
print(f"{'call':40} {'median ms':>10} {'p95 ms':>8} {'bytes':>9}")
timed_out = False
for name, path in calls:
    note = " (a timed-out call was still running on the server)" if timed_out else ""
    try:
        t0 = time.perf_counter()
        body = get(path)  # warm-up
        first = time.perf_counter() - t0
    except (TimeoutError, OSError) as e:
        timed_out = True
        print(f"{name:40} timed out after {timeout:.0f} s{note}", flush=True)
        results.append({"name": name, "path": path, "timed_out": True, "timeout_s": timeout, "note": note})
        conn.close()
        conn = http.client.HTTPConnection(parsed.hostname, parsed.port, timeout=timeout)
        continue
    count = min(runs, max(3, int(budget / first))) if first > 0 else runs
    times = []
    for _ in range(count):
        t0 = time.perf_counter()
        try:
            get(path)
        except (TimeoutError, OSError):
            timed_out = True
            conn.close()
            conn = http.client.HTTPConnection(parsed.hostname, parsed.port, timeout=timeout)
            break
        times.append((time.perf_counter() - t0) * 1000)
    if not times:
        print(f"{name:40} a run timed out after {timeout:.0f} s{note}", flush=True)
        results.append({"name": name, "path": path, "timed_out": True, "timeout_s": timeout, "note": note})
        continue
    median, p95 = pct(times, 0.5), pct(times, 0.95)
    extra = (f" [{len(times)} runs]" if len(times) < runs else "") + note
    print(f"{name:40} {median:10.1f} {p95:8.1f} {len(body):9,}{extra}", flush=True)
    results.append({"name": name, "path": path, "median_ms": median, "p95_ms": p95, "max_ms": max(times), "bytes": len(body),
                    "runs": len(times), "note": note})
json.dump({"url": url, "to": iso(end), "calls": results}, open(out, "w"), indent=1)
