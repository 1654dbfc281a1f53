"""Summarises a bench/ingest/run.sh output directory as Markdown."""
import json
import os
import sys

out = sys.argv[1]
TARGET = 20_000


def read(name):
    path = os.path.join(out, name)
    return open(path).read().strip() if os.path.exists(path) else None

def other_load():
    text = read("other-load.txt")
    if not text:
        return None
    lines = [l.split() for l in text.splitlines() if "load" in l]
    loads = sorted(float(l[2]) for l in lines)
    busy = sum(1 for l in lines if int(l[-1]) > 0)
    return (f"Other work on the machine: compiler processes (the lead's builds) in {busy} of {len(lines)} 5-second samples; "
            f"1-minute load average median {loads[len(loads) // 2]:.2f}, max {loads[-1]:.2f}.")



print("| phase | observations/s | requests/s | request p50 / p99 | acknowledged | stored | lost | server CPU | peak RSS | client CPU |")
print("|---|---|---|---|---|---|---|---|---|---|")
for backend in ["sqlite", "postgres"]:
    for mode in ["ingest", "otlp"]:
        name = f"{backend}-{mode}"
        text = read(f"load-{name}.json")
        if text is None:
            continue
        load = json.loads(text)
        stored = read(f"stored-{name}.txt")
        obs = int(stored.split()[0]) if stored else None
        cpu, wall = map(float, read(f"server-cpu-{name}.txt").split())
        rss = int(read(f"rss-peak-kb-{name}.txt")) / 1024
        lat = load["latency_ms"]
        label = {"ingest": "POST /api/v1/ingest (JSON)", "otlp": "POST /v1/traces (OTLP protobuf)"}[mode]
        lost = load["observations"] - obs if obs is not None else "?"
        shown = backend
        print(f"| {shown}: {label} | **{load['observations_per_s']:,.0f}** | {load['requests_per_s']:.1f} | "
              f"{lat['p50'] or 0:.0f} / {lat['p99'] or 0:.0f} ms | {load['observations']:,} | {obs:,} | {lost} | "
              f"{cpu:.0f} s of {wall:.0f} s ({cpu / wall * 100:.0f}%) | {rss:.0f} MB | "
              f"{load['client_cpu_s']:.0f} s of {load['client_wall_s']:.0f} s |")
print()
sqlite = read("load-sqlite-ingest.json")
if sqlite:
    rate = json.loads(sqlite)["observations_per_s"]
    print(f"Target (issue 4): {TARGET:,} observations/s into SQLite with nothing lost: "
          f"{'met' if rate >= TARGET else 'missed'} through /api/v1/ingest ({rate:,.0f}/s).")

print()
if other_load():
    print(other_load())
    print()
print("```")
print(read("machine.txt") or "")
print("```")
