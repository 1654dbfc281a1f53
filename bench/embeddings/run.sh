#!/usr/bin/env bash
# Embedding benchmark (issue 6): all-MiniLM-L6-v2 in Tern (TernLocal, release build of `tern-embed-bench`)
# against the reference Python implementation (sentence-transformers on PyTorch CPU, in the virtualenv
# of scripts/lib/reference-venv.sh, outside the repository), on the same machine, the same sentences
# (about 20 English words each) and the same counts: sentences/s on batches of 32, single-sentence
# latency p50/p95, peak RSS. The two run one after the other, never at once, alternating for ROUNDS rounds.
#
#   bench/embeddings/run.sh                         # 3 rounds, 30 batches and 300 single calls each
#   ROUNDS=5 BATCHES=50 SINGLES=500 bench/embeddings/run.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
ROUNDS=${ROUNDS:-3}
BATCHES=${BATCHES:-30}
SINGLES=${SINGLES:-300}
OUT=$ROOT/bench/out/embeddings-$(date -u +%Y%m%dT%H%M%SZ)
mkdir -p "$OUT"
source scripts/lib/reference-venv.sh

echo "== building tern-embed-bench (release, .build-bench)" >&2
nice -n 19 swift build -c release --product tern-embed-bench --scratch-path .build-bench >&2
BENCH=$ROOT/.build-bench/release/tern-embed-bench
echo "== the model (pulled when absent) and the reference" >&2
"$BENCH" --pull-only
reference_venv_ensure
PY="$REFERENCE_VENV/bin/python"
"$PY" bench/embeddings/bench.py sentences "$OUT/sentences.json"

# Why OpenBLAS, and why TernLocal chooses its kernels: one-thread GEMM of the model's largest shape.
CORE=""
if grep -m1 '^flags' /proc/cpuinfo | grep -q avx512vl; then CORE=SkylakeX; elif grep -m1 '^flags' /proc/cpuinfo | grep -q avx2; then CORE=Haswell; fi
swiftc -O bench/embeddings/gemm-compare.swift -lopenblas -o "$OUT/gemm-compare" 2>/dev/null
{
    echo "OpenBLAS's own kernel choice ($(OPENBLAS_VERBOSE=2 "$OUT/gemm-compare" 2>&1 | grep -m1 Core: | xargs)): $("$OUT/gemm-compare")"
    if [ -n "$CORE" ]; then echo "OPENBLAS_CORETYPE=$CORE (as TernLocal sets it): $(OPENBLAS_CORETYPE=$CORE "$OUT/gemm-compare")"; fi
} >"$OUT/gemm.txt"

for round in $(seq 1 "$ROUNDS"); do
    echo "== round $round/$ROUNDS: tern" >&2
    "$BENCH" --sentences "$OUT/sentences.json" --batches "$BATCHES" --singles "$SINGLES" >>"$OUT/tern.jsonl"
    echo "== round $round/$ROUNDS: reference" >&2
    "$PY" bench/embeddings/bench.py reference --sentences "$OUT/sentences.json" --batches "$BATCHES" --singles "$SINGLES" \
        2>>"$OUT/reference.log" >>"$OUT/reference.jsonl"
done

{
    echo "# all-MiniLM-L6-v2 embeddings, $(date -u +%Y-%m-%dT%H:%MZ)"
    echo
    echo "Machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(free -g | awk '/Mem:/ {print $2}') GiB; load average at start: $(cut -d' ' -f1-3 /proc/loadavg)."
    echo
    "$PY" bench/embeddings/bench.py report "$OUT/tern.jsonl" "$OUT/reference.jsonl" --json "$OUT/summary.json"
    echo
    sed 's/^/    /' "$OUT/gemm.txt"
} | tee "$OUT/report.md"
echo "results in $OUT" >&2
