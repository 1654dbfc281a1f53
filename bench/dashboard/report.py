"""Summarises a bench/dashboard/run.sh output directory as Markdown."""
import json
import os
import sys

out = sys.argv[1]


def load(name):
    path = os.path.join(out, name)
    return json.load(open(path)) if os.path.exists(path) else None


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



def cell(case, key):
    if case is None:
        return "-"
    if "median_ms" not in case:
        return f"timed out (> {case.get('timeout_s', 0):.0f} s)"
    value = f"{case[key]:.1f} ms"
    if case.get("timed_out"):
        value += " (a run timed out)"
    return value


def p95(case):
    return case["p95_ms"] if case and "p95_ms" in case and not case.get("timed_out") else float("inf")


for backend in ["sqlite", "postgres"]:
    seed = load(f"seed-{backend}.json")
    dash = load(f"dashboard-{backend}.json")
    http = load(f"http-{backend}.json")
    analyzed = load(f"dashboard-{backend}-analyzed.json")
    if not dash:
        continue
    print(f"### {backend}: {int(dash['traces']):,} traces, {dash['from']} .. {dash['to']}")
    print()
    if seed:
        size = read(f"db-kb-{backend}.txt")
        line = (f"Seed: {int(seed['traces']):,} traces, {int(seed['observations']):,} observations, {int(seed['scores']):,} scores "
                f"in {seed['insert_seconds']:.0f} s ({seed['traces_per_second']:,.0f} traces/s, {seed['observations_per_second']:,.0f} observations/s"
                f"{', with planner statistics during the insert' if seed.get('insert_planner_stats') else ''})")
        if "rollup_seconds" in seed:
            line += (f"; language detection {int(seed['language_detected']):,} traces in {seed['language_seconds']:.1f} s; "
                     f"rollup build {int(seed['rollup_hours'])} hours in {seed['rollup_seconds']:.1f} s")
        if size:
            line += f"; database {int(size) / 1024:,.0f} MB"
        print(line + ".")
        print()
    by_name = {}
    for i, case in enumerate(dash["cases"]):
        by_name[case["name"]] = i
    header = "| query | median | p95 | HTTP median | HTTP p95 |"
    rule = "|---|---|---|---|---|"
    if analyzed:
        header += " after ANALYZE: median | p95 |"
        rule += "---|---|"
    print(header + " target | rows |")
    print(rule + "---|---|")
    for i, case in enumerate(dash["cases"]):
        h = http["calls"][i] if http and i < len(http["calls"]) else None
        a = analyzed["cases"][i] if analyzed and i < len(analyzed["cases"]) else None
        target = 300 if case["kind"] == "list" else 200
        if case["kind"] == "metrics-scan":
            verdict = "none (scan)"
        else:
            verdict = f"p95 < {target} ms: " + ("met" if max(p95(case), p95(h) if h else 0) < target else "**missed**")
        row = f"| {case['name']} | {cell(case, 'median_ms')} | {cell(case, 'p95_ms')} | {cell(h, 'median_ms')} | {cell(h, 'p95_ms')} |"
        if analyzed:
            row += f" {cell(a, 'median_ms')} | {cell(a, 'p95_ms')} |"
        print(row + f" {verdict} | {case.get('result', '-')} |")
    rss = read(f"rss-peak-kb-{backend}.txt")
    if rss:
        print()
        print(f"Server peak RSS during the HTTP calls: {int(rss) / 1024:.0f} MB.")
    print()
if other_load():
    print(other_load())
    print()
print("```")
print(read("machine.txt") or "")
print("```")
