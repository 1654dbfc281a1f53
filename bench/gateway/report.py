"""Summarises a bench/gateway/run.sh output directory as Markdown."""
import os
import re
import statistics
import sys

out = sys.argv[1]


def read(name):
    path = os.path.join(out, name)
    return open(path).read() if os.path.exists(path) else None


def wrk(name):
    text = read(f"wrk-{name}.txt")
    if text is None:
        return None
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", text).group(1))
    total = int(re.search(r"(\d+) requests in", text).group(1))
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", text)
    percentiles = {}
    for p, value, unit in re.findall(r"\s+(50|75|90|99)%\s+([\d.]+)(us|ms|s)\b", text):
        factor = {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]
        percentiles[int(p)] = float(value) * factor
    return {"rps": rps, "total": total, "errors": int(errors.group(1)) if errors else 0, "p": percentiles}


def ms(x):
    return f"{x:.3f} ms"


rows = []
stub1, tern1, stub64, tern64 = wrk("stub-c1"), wrk("tern-c1"), wrk("stub-c64"), wrk("tern-c64")
print("| run | requests/s | p50 | p99 | non-2xx |")
print("|---|---|---|---|---|")
for name in ["stub-c1", "tern-c1", "stub-c64", "tern-c64", "tern-long", "stub2-c1", "litellm-c1", "litellm-c64"]:
    r = wrk(name)
    if r:
        print(f"| {name} | {r['rps']:.0f} | {ms(r['p'][50])} | {ms(r['p'][99])} | {r['errors']} |")
print()
print(f"Added latency at concurrency 1 (gateway minus stub, same run): p50 {ms(tern1['p'][50] - stub1['p'][50])}, "
      f"p99 {ms(tern1['p'][99] - stub1['p'][99])}")
print(f"Throughput at concurrency 64: {tern64['rps']:.0f} requests/s through the gateway ({stub64['rps']:.0f} requests/s from the stub alone)")
stub_ttft = [float(x) for x in (read("ttft-stub.txt") or "").split()]
tern_ttft = [float(x) for x in (read("ttft-tern.txt") or "").split()]
if stub_ttft and tern_ttft:
    print(f"Streaming time to first token, median of {len(tern_ttft)}: stub {ms(statistics.median(stub_ttft))}, "
          f"gateway {ms(statistics.median(tern_ttft))}, added {ms(statistics.median(tern_ttft) - statistics.median(stub_ttft))}")
series = [int(line.split()[1]) for line in (read("rss-series.txt") or "").splitlines() if len(line.split()) == 2]
idle = int((read("rss-idle.txt") or "0").strip() or 0)
peak = int((read("rss-peak.txt") or "0").strip() or 0)
if series:
    tenth = max(1, len(series) // 10)
    print(f"RSS: idle {idle / 1024:.1f} MB, peak {peak / 1024:.1f} MB; during the long run first 10% median "
          f"{statistics.median(series[:tenth]) / 1024:.1f} MB, last 10% median {statistics.median(series[-tenth:]) / 1024:.1f} MB, "
          f"after {int((read('rss-after.txt') or '0').strip()) / 1024:.1f} MB")
served = sum(r["total"] - r["errors"] for r in [wrk("tern-c1"), tern64, wrk("tern-long")] if r)
stored = int((read("traces-stored.txt") or "0").strip() or 0)
print(f"Traces: {stored} stored for {served} measured gateway requests (plus warm-up and streaming requests); "
      f"{(read('trace-metrics.txt') or '').strip().replace(chr(10), '; ')}")
lite1, lite64, stub2 = wrk("litellm-c1"), wrk("litellm-c64"), wrk("stub2-c1")
if lite1 and lite64 and stub2:
    version = (read("litellm-version.txt") or "?").strip()
    added_lite = lite1["p"][50] - stub2["p"][50]
    added_tern = tern1["p"][50] - stub1["p"][50]
    print(f"LiteLLM {version}: added p50 {ms(added_lite)} at concurrency 1, {lite64['rps']:.0f} requests/s at 64; "
          f"Tern adds {added_lite / max(added_tern, 1e-6):.0f}x less latency and serves {tern64['rps'] / lite64['rps']:.0f}x the throughput")
