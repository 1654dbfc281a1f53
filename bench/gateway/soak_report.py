#!/usr/bin/env python3
"""Summarises a bench/gateway/soak.sh run: added latency per pair and medians, RSS over the soak."""
import glob
import os
import re
import statistics
import sys

out = sys.argv[1]


def millis(text):
    value, unit = re.match(r"([\d.]+)(us|ms|s)", text).groups()
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]


def wrk(path):
    text = open(path).read()
    percentiles = {}
    for p in ("50", "75", "90", "99"):
        m = re.search(rf"^\s+{p}%\s+(\S+)", text, re.M)
        if m:
            percentiles[p] = millis(m.group(1))
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", text).group(1))
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", text)
    return percentiles, rps, int(errors.group(1)) if errors else 0


rounds = sorted(int(re.search(r"-(\d+)\.txt$", p).group(1)) for p in glob.glob(os.path.join(out, "c1-tern-*.txt")))
print("### Added latency at concurrency 1 (Tern minus nginx, each pair run back to back)\n")
print("| pair | nginx p50 / p99 ms | Tern p50 / p99 ms | added p50 ms | added p90 ms | added p99 ms |")
print("|---|---|---|---|---|---|")
added = {"50": [], "90": [], "99": []}
for r in rounds:
    n, _, _ = wrk(os.path.join(out, f"c1-nginx-{r}.txt"))
    t, _, _ = wrk(os.path.join(out, f"c1-tern-{r}.txt"))
    for p in added:
        added[p].append(t[p] - n[p])
    print(f"| {r} | {n['50']:.3f} / {n['99']:.3f} | {t['50']:.3f} / {t['99']:.3f} | {t['50'] - n['50']:.3f} | "
          f"{t['90'] - n['90']:.3f} | {t['99'] - n['99']:.3f} |")
if rounds:
    print(f"| median | | | {statistics.median(added['50']):.3f} | {statistics.median(added['90']):.3f} | "
          f"{statistics.median(added['99']):.3f} |")
    if os.path.exists(os.path.join(out, f"c1-ternnojournal-{rounds[0]}.txt")):
        print("\n### The trace journal's cost at concurrency 1 (Tern with the journal minus Tern without, same round)\n")
        print("| round | without journal p50 / p99 ms | with p50 / p99 ms | cost p50 ms | cost p99 ms |")
        print("|---|---|---|---|---|")
        cost = {"50": [], "99": []}
        for r in rounds:
            t, _, _ = wrk(os.path.join(out, f"c1-tern-{r}.txt"))
            w, _, _ = wrk(os.path.join(out, f"c1-ternnojournal-{r}.txt"))
            for p in cost:
                cost[p].append(t[p] - w[p])
            print(f"| {r} | {w['50']:.3f} / {w['99']:.3f} | {t['50']:.3f} / {t['99']:.3f} | {t['50'] - w['50']:.3f} | {t['99'] - w['99']:.3f} |")
        print(f"| median | | | {statistics.median(cost['50']):.3f} | {statistics.median(cost['99']):.3f} |")

print("\n### RSS during the soak at concurrency 64\n")
idle = int(open(os.path.join(out, "rss-idle.txt")).read())
series = [tuple(map(int, line.split())) for line in open(os.path.join(out, "rss-series.txt")) if line.strip()]
after = int(open(os.path.join(out, "rss-after.txt")).read())
peak = int(open(os.path.join(out, "rss-peak.txt")).read())
soak, rps, errors = wrk(os.path.join(out, "soak-c64.txt"))
values = [kb for _, kb in series]
print(f"- idle before: {idle / 1024:.0f} MiB; peak (VmHWM): {peak / 1024:.0f} MiB; 5 s after the run: {after / 1024:.0f} MiB")
if values:
    first_min = [kb for s, kb in series if s <= 60]
    last_min = [kb for s, kb in series if s > series[-1][0] - 60]
    print(f"- during: min {min(values) / 1024:.0f}, median {statistics.median(values) / 1024:.0f}, max {max(values) / 1024:.0f} MiB; "
          f"first minute median {statistics.median(first_min) / 1024:.0f}, last minute median {statistics.median(last_min) / 1024:.0f} MiB")
    marks = [series[i] for i in range(0, len(series), max(1, len(series) // 10))]
    print("- samples (s: MiB): " + ", ".join(f"{s}: {kb / 1024:.0f}" for s, kb in marks))
memory_path = os.path.join(out, "memory-series.txt")
if os.path.exists(memory_path):
    rows = []
    for line in open(memory_path):
        fields = line.split()
        if len(fields) == 5:
            rows.append(tuple(int(f) for f in fields))
    if rows:
        rss = dict(series)
        print("\n| s | RSS MiB | heap in use | heap free (kept by malloc) | SQLite | trace queue |")
        print("|---|---|---|---|---|---|")
        mib = lambda b: f"{b / 1048576:.0f}"
        for row in [rows[i] for i in range(0, len(rows), max(1, len(rows) // 10))] + ([rows[-1]] if len(rows) > 1 else []):
            s_, used, free, sqlite, queue = row
            print(f"| {s_} | {rss.get(s_, 0) / 1024:.0f} | {mib(used)} | {mib(free)} | {mib(sqlite)} | {mib(queue)} |")
        print()
print(f"- throughput {rps:,.0f} requests/s, p50 {soak.get('50', 0):.2f} ms, p99 {soak.get('99', 0):.2f} ms, non-2xx {errors}")
metrics = open(os.path.join(out, "trace-metrics.txt")).read().strip().replace("\n", "; ")
print(f"- trace metrics after: {metrics}")
print(f"- {open(os.path.join(out, 'machine.txt')).read().strip()}")
