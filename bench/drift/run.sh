#!/usr/bin/env bash
# Drift of 100,000 current against 100,000 reference rows, 10 numeric and 5 categorical columns (issue 18):
# `tern drift` on two JSONL files (reading, typing, tests: the whole command), median of 3 runs; with
# EVIDENTLY_PYTHON (a python with evidently==0.7.23 and "pandas<2.3"), Evidently's DataDriftPreset on the
# same data in the same script, for a ratio.
#
#   bench/drift/run.sh
#   ROWS=20000 EVIDENTLY_PYTHON=/tmp/evvenv/bin/python bench/drift/run.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
ROWS=${ROWS:-100000}
OUT=bench/out/drift-$(date -u +%Y%m%dT%H%M%SZ)
mkdir -p "$OUT"
WORK=$(mktemp -d /tmp/tern-drift.XXXXXX)
trap 'rm -rf "$WORK"' EXIT
swift build -c release --product tern >/dev/null
BIN=$(swift build -c release --show-bin-path)/tern

python3 - "$WORK" "$ROWS" <<'PY'
import json, random, sys
work, rows = sys.argv[1], int(sys.argv[2])
def write(path, shift, seed):
    rng = random.Random(seed)
    with open(path, "w") as f:
        for _ in range(rows):
            row = {f"n{i}": round(rng.gauss(i + (shift if i < 3 else 0), 1 + i / 10), 4) for i in range(10)}
            for j in range(5):
                weights = [5, 3, 2, 1, 1] if not (shift and j < 2) else [2, 3, 3, 2, 2]
                row[f"c{j}"] = rng.choices(["a", "b", "c", "d", "e"], weights)[0]
            f.write(json.dumps(row) + "\n")
write(f"{work}/ref.jsonl", 0, 1)
write(f"{work}/cur.jsonl", 0.05, 2)
PY

times=()
for run in 1 2 3; do
    start=$(date +%s.%N)
    "$BIN" drift --reference "$WORK/ref.jsonl" --current "$WORK/cur.jsonl" --format json >"$OUT/tern.json"
    end=$(date +%s.%N)
    times+=("$(python3 -c "print(f'{$end - $start:.3f}')")")
done
echo "tern drift, ${ROWS} x ${ROWS} rows, 15 columns: ${times[*]} s" | tee "$OUT/report.txt"
python3 -c "import statistics,sys; print(f'median {statistics.median(map(float, sys.argv[1:])):.3f} s')" "${times[@]}" | tee -a "$OUT/report.txt"

if [ -n "${EVIDENTLY_PYTHON:-}" ]; then
    "$EVIDENTLY_PYTHON" - "$WORK" >>"$OUT/report.txt" <<'PY'
import statistics, sys, time
import pandas as pd
from evidently.legacy.metric_preset import DataDriftPreset
from evidently.legacy.report import Report
work = sys.argv[1]
times = []
for _ in range(3):
    start = time.perf_counter()
    ref = pd.read_json(f"{work}/ref.jsonl", lines=True)
    cur = pd.read_json(f"{work}/cur.jsonl", lines=True)
    report = Report(metrics=[DataDriftPreset()])
    report.run(reference_data=ref, current_data=cur)
    report.as_dict()
    times.append(time.perf_counter() - start)
print("Evidently DataDriftPreset (read_json + run): " + " ".join(f"{t:.3f}" for t in times) + f" s; median {statistics.median(times):.3f} s")
PY
    tail -1 "$OUT/report.txt"
fi
echo "machine: $(nproc) cores; load $(cut -d' ' -f1-3 /proc/loadavg)" | tee -a "$OUT/report.txt"
python3 -c "import json; r=json.load(open('$OUT/tern.json')); print('drifted columns:', [c['column'] for c in r['columns'] if c['drift_detected']], 'dataset drift:', r['dataset_drift'])" | tee -a "$OUT/report.txt"
