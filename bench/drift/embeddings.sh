#!/usr/bin/env bash
# Embedding drift of ROWS reference against ROWS current vectors of 384 components (issue 18: 20,000 vs 20,000
# with embeddings cached under 10 s): `tern-bench embedding-drift`, each of Evidently's methods timed alone,
# median of RUNS (mmd, quadratic in the rows, once unless MMD_RUNS says otherwise).
#
#   bench/drift/embeddings.sh
#   ROWS=5000 RUNS=5 MMD_RUNS=3 bench/drift/embeddings.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
ROWS=${ROWS:-20000}
RUNS=${RUNS:-3}
MMD_RUNS=${MMD_RUNS:-1}
OUT=bench/out/embedding-drift-$(date -u +%Y%m%dT%H%M%SZ)
mkdir -p "$OUT"
swift build -c release --product tern-bench >/dev/null
BIN=$(swift build -c release --show-bin-path)/tern-bench
"$BIN" embedding-drift --rows "$ROWS" --runs "$RUNS" --method model --method ratio --method distance | tee "$OUT/report.txt"
"$BIN" embedding-drift --rows "$ROWS" --runs "$MMD_RUNS" --method mmd | tail -n 1 | tee -a "$OUT/report.txt"
echo "machine: $(nproc) cores; load $(cut -d' ' -f1-3 /proc/loadavg)" | tee -a "$OUT/report.txt"
