#!/usr/bin/env bash
# tern eval benchmark (issue 5): a release build of `tern eval` against the stub upstream
# (`tern-stub --latency-ms 100`) on loopback.
#
#   1. throughput: ITEMS (2,000) items x 2 prompts x 1 provider at --max-concurrency 32, a `contains`
#      assertion per test, no cache. Ideal: 32 calls in flight / 0.1 s = 320 cells/s (target: 95%).
#   2. graded throughput: the same with an llm-rubric judged by a stub model (a second 100 ms call
#      in each cell's slot: ideal 160 cells/s). Not a target; shows the judge path's overhead.
#   3. memory: BIG (20,000) items x 2 prompts, same settings, with -o results.json; peak RSS
#      (VmHWM, /usr/bin/time) of the tern process (target: under 200 MB).
#
#   bench/eval/run.sh                  # all phases (about 5 minutes after the build)
#   ITEMS=500 BIG=2000 bench/eval/run.sh   # quicker
# Release binaries are built in .build-bench. Raw output lands in bench/out/ (not committed).
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
ITEMS=${ITEMS:-2000}
BIG=${BIG:-20000}
CONCURRENCY=${CONCURRENCY:-32}
LATENCY_MS=${LATENCY_MS:-100}
OUT=$ROOT/bench/out/eval-$(date -u +%Y%m%dT%H%M%SZ)
mkdir -p "$OUT"
WORK=$(mktemp -d "${BENCH_TMP:-/tmp}/tern-eval-bench.XXXXXX")
STUB_PID=""
trap '[ -z "$STUB_PID" ] || kill "$STUB_PID" 2>/dev/null; rm -rf "$WORK"' EXIT INT TERM

echo "== building release binaries (.build-bench)"
swift build -c release --scratch-path .build-bench --product tern >/dev/null
swift build -c release --scratch-path .build-bench --product tern-stub >/dev/null
BIN=$(swift build -c release --scratch-path .build-bench --show-bin-path)

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'; }
STUB_PORT=$(free_port)
"$BIN/tern-stub" --port "$STUB_PORT" --latency-ms "$LATENCY_MS" >"$WORK/stub.log" 2>&1 &
STUB_PID=$!
for _ in $(seq 1 300); do grep -q "stub listening" "$WORK/stub.log" 2>/dev/null && break; sleep 0.1; done
grep -q "stub listening" "$WORK/stub.log" || { echo "the stub did not start" >&2; cat "$WORK/stub.log" >&2; exit 1; }

tests() {  # count file
    python3 - "$1" "$2" <<'PY'
import json, sys
count, path = int(sys.argv[1]), sys.argv[2]
with open(path, "w") as f:
    for i in range(count):
        f.write(json.dumps({"description": f"item {i}", "vars": {"question": f"What is item {i} about?", "n": str(i)},
                            "assert": [{"type": "contains", "value": f"item {i}"}]}) + "\n")
PY
}
config() {  # file tests-file [extra defaultTest]
    cat >"$1" <<YAML
description: bench
prompts:
  - 'Answer briefly: {{question}}'
  - 'Answer in detail: {{question}} ({{n}})'
providers:
  - openai:chat:echo-bench
tests: file://$2
evaluateOptions:
  maxConcurrency: $CONCURRENCY
  showProgressBar: false
$3
YAML
}
export OPENAI_BASE_URL=http://127.0.0.1:$STUB_PORT/v1 OPENAI_API_KEY=sk-bench

run() {  # name config [args...]
    local name=$1 file=$2; shift 2
    ( cd "$WORK" && /usr/bin/time -v "$BIN/tern" eval -c "$file" --no-cache "$@" >"$OUT/$name.out" 2>"$OUT/$name.time" ) || {
        local code=$?; [ "$code" -eq 100 ] || { echo "$name: tern eval exited $code" >&2; cat "$OUT/$name.out" "$OUT/$name.time" >&2; exit 1; }
    }
    local cells seconds rss
    cells=$(grep -oE '^Successes: [0-9]+' "$OUT/$name.out" | grep -oE '[0-9]+')
    seconds=$(grep -oE '^Duration: [0-9.]+' "$OUT/$name.out" | grep -oE '[0-9.]+')
    rss=$(grep -E 'Maximum resident set size' "$OUT/$name.time" | grep -oE '[0-9]+$')
    local wall; wall=$(grep -E 'Elapsed \(wall clock\)' "$OUT/$name.time" | awk '{print $NF}')
    python3 - "$name" "$cells" "$seconds" "$rss" "$wall" "$@" <<'PY' | tee -a "$OUT/summary.txt"
import sys
name, cells, seconds, rss, wall = sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), int(sys.argv[4]), sys.argv[5]
print(f"{name}: {cells} cells passed in {seconds:.2f} s (run), {wall} wall: {cells / seconds:.1f} cells/s; peak RSS {rss / 1024:.1f} MB")
PY
}

echo "== machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(uname -r)" | tee "$OUT/summary.txt"
tests "$ITEMS" "$WORK/tests.jsonl"
config "$WORK/plain.yaml" tests.jsonl ""
echo "== 1. throughput: $ITEMS items x 2 prompts, concurrency $CONCURRENCY, stub latency ${LATENCY_MS} ms (ideal $((CONCURRENCY * 1000 / LATENCY_MS)) cells/s)"
run plain-1 plain.yaml
run plain-2 plain.yaml
run plain-3 plain.yaml

echo "== 2. graded throughput: the same with an llm-rubric per test, judged by the stub (ideal $((CONCURRENCY * 1000 / LATENCY_MS / 2)) cells/s)"
config "$WORK/graded.yaml" tests.jsonl "defaultTest:
  options: {provider: 'openai:chat:judge-bench'}
  assert: [{type: llm-rubric, value: answers the question}]"
run graded-1 graded.yaml

echo "== 3. memory: $BIG items x 2 prompts, -o results.json"
tests "$BIG" "$WORK/big.jsonl"
config "$WORK/big.yaml" big.jsonl ""
run big big.yaml -o "$WORK/results.json"
echo "results in $OUT"
