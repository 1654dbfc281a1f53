#!/usr/bin/env bash
# A deterministic watcher scoring stored traces (issue 18: at least 5,000 traces/s on the 2-core machine):
# tern-bench watch seeds TRACES finished traces into a fresh SQLite store, creates a watcher of three
# deterministic assertions, scans and works the queue until it is empty, and prints traces/s (scan, work,
# both). ROUNDS runs, each on a fresh store; the figure to quote is the median.
#
#   bench/watch/run.sh
#   TRACES=50000 ROUNDS=3 bench/watch/run.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
TRACES=${TRACES:-20000}
ROUNDS=${ROUNDS:-3}
OUT=bench/out/watch-$(date -u +%Y%m%dT%H%M%SZ)
mkdir -p "$OUT"
swift build -c release --product tern-bench >/dev/null
BIN=$(swift build -c release --show-bin-path)/tern-bench
for round in $(seq 1 "$ROUNDS"); do
    WORK=$(mktemp -d /tmp/tern-watch.XXXXXX)
    "$BIN" watch --data-dir "$WORK" --traces "$TRACES" | tee -a "$OUT/report.txt"
    rm -rf "$WORK"
done
echo "machine: $(nproc) cores; load $(cut -d' ' -f1-3 /proc/loadavg)" | tee -a "$OUT/report.txt"
