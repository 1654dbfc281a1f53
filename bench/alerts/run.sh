#!/usr/bin/env bash
# Alert rules over a large store (issue 18: 100 rules at 1M traces, under 1 s per evaluation cycle on SQLite):
# tern-bench seed writes TRACES traces over 30 days into a fresh SQLite store (skipped when DATA_DIR already
# holds one), then tern-bench alerts creates RULES rules (error rate, p50/p95 latency, cost, traffic; 1 h
# and 24 h windows; a fifth each filtered by model, language or tag) and times CYCLES evaluation cycles.
#
#   bench/alerts/run.sh
#   TRACES=1000000 RULES=100 CYCLES=5 DATA_DIR=/tmp/tern-alerts bench/alerts/run.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
TRACES=${TRACES:-1000000}
RULES=${RULES:-100}
CYCLES=${CYCLES:-5}
DATA_DIR=${DATA_DIR:-/tmp/tern-alerts-bench}
OUT=bench/out/alerts-$(date -u +%Y%m%dT%H%M%SZ)
mkdir -p "$OUT" "$DATA_DIR"
swift build -c release --product tern-bench >/dev/null
BIN=$(swift build -c release --show-bin-path)/tern-bench
if [ ! -f "$DATA_DIR/tern.sqlite" ]; then
    "$BIN" seed --data-dir "$DATA_DIR" --traces "$TRACES" | tee -a "$OUT/report.txt"
fi
"$BIN" alerts --data-dir "$DATA_DIR" --rules "$RULES" --cycles "$CYCLES" | tee -a "$OUT/report.txt"
echo "machine: $(nproc) cores; load $(cut -d' ' -f1-3 /proc/loadavg)" | tee -a "$OUT/report.txt"
