#!/usr/bin/env bash
# Dashboard benchmark: seeds TRACES realistic traces (default 1,000,000 over 30 days) into a fresh
# SQLite database with `tern-bench seed` (then language detection and the rollups, as the server's
# background job would), times the dashboard's metrics queries and the trace list in process with
# `tern-bench dashboard`, then the same calls over HTTP against `tern serve` on that data.
#
#   bench/dashboard/run.sh                     # SQLite, 1M traces (about 15-25 minutes after the build)
#   TRACES=100000 RUNS=10 bench/dashboard/run.sh   # quicker
#   POSTGRES=1 bench/dashboard/run.sh          # also PostgreSQL, with TRACES_PG traces (default 200,000:
#                                              # seeding 1M into PostgreSQL on 2 cores takes long)
#   POSTGRES=1 SQLITE=0 bench/dashboard/run.sh # PostgreSQL only
#   BENCH_TMP=/dev/shm bench/dashboard/run.sh  # SQLite file in memory
#   SEED=4 END=2026-11-27T00:00:00Z ...        # the same data on every run (default END: now)
#   TIMEOUT=60 BUDGET=120 ...                  # give up on a query after TIMEOUT s; at most BUDGET s of runs per query

set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
TRACES=${TRACES:-1000000}
TRACES_PG=${TRACES_PG:-200000}
SQLITE=${SQLITE:-1}
RUNS=${RUNS:-30}
SEED=${SEED:-4}
END=${END:-now}
POSTGRES=${POSTGRES:-0}
TIMEOUT=${TIMEOUT:-60}
BUDGET=${BUDGET:-120}
OUT=$ROOT/bench/out/dashboard-$(date -u +%Y%m%dT%H%M%SZ)
mkdir -p "$OUT"
WORK=$(mktemp -d "${BENCH_TMP:-/tmp}/tern-bench-dashboard.XXXXXX")
SERVER_PID=""
SAMPLER_PID=""
cleanup() {
    if [ -n "$SAMPLER_PID" ]; then kill "$SAMPLER_PID" 2>/dev/null || true; fi
    if [ -n "$SERVER_PID" ]; then kill "$SERVER_PID" 2>/dev/null || true; wait "$SERVER_PID" 2>/dev/null || true; fi
    if [ "$POSTGRES" = 1 ] && declare -F pg_stop >/dev/null; then pg_stop; fi
    rm -rf "$WORK"
}
trap cleanup EXIT INT TERM

echo "== building release (scratch path .build-bench)"
for product in tern tern-bench; do
    swift build -c release -j "${BENCH_JOBS:-2}" --scratch-path .build-bench --product "$product" >"$OUT/build.log" 2>&1 \
        || { tail -n 30 "$OUT/build.log" >&2; exit 1; }
done
BIN=$(swift build -c release --scratch-path .build-bench --show-bin-path)

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'; }
wait_for_line() {  # file, text
    for _ in $(seq 1 600); do
        grep -q "$2" "$1" 2>/dev/null && return 0
        sleep 0.1
    done
    echo "timed out waiting for '$2' in $1" >&2; cat "$1" >&2; return 1
}

{
    echo "date: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
    echo "commit: $(git rev-parse --short HEAD 2>/dev/null || echo unknown)$(git diff --quiet 2>/dev/null || echo ' (uncommitted changes)')"
    echo "nproc: $(nproc)"
    echo "cpu: $(lscpu | awk -F: '/Model name/ {gsub(/^ +/, "", $2); print $2; exit}')"
    echo "memory: $(awk '/MemTotal/ {printf "%.1f GiB", $2/1048576}' /proc/meminfo)"
    echo "kernel: $(uname -r)"
    echo "swift: $(swift --version 2>/dev/null | head -n 1)"
    echo "tmp: ${BENCH_TMP:-/tmp}"
    echo "seed: $SEED, end: $END, runs: $RUNS"
} >"$OUT/machine.txt"

# What else ran on the cores: load average and compiler processes, every 5 s (this machine is shared).
( while true; do
    echo "$(date -u +%H:%M:%S) load $(cut -d' ' -f1-3 /proc/loadavg) compilers $(pgrep -c -f 'swift-frontend|swift-build|clang' || true)"
    sleep 5
  done ) >"$OUT/other-load.txt" 2>/dev/null &
SAMPLER_PID=$!

cat >"$WORK/tern.yaml" <<YAML
log:
  level: warning
YAML

# One backend: name, traces, storage flags...
measure() {
    local name=$1 count=$2
    shift 2
    local storage=("$@")
    echo "== $name: seeding $count traces"
    "$BIN/tern-bench" seed --traces "$count" --seed "$SEED" --end "$END" "${storage[@]}" --json "$OUT/seed-$name.json" | tee "$OUT/seed-$name.txt"
    if [ "$name" = sqlite ]; then
        du -sk "$WORK/data" | awk '{print $1}' >"$OUT/db-kb-$name.txt"
    fi
    echo "== $name: dashboard queries in process ($RUNS runs each)"
    "$BIN/tern-bench" dashboard --runs "$RUNS" --timeout "$TIMEOUT" --budget "$BUDGET" "${storage[@]}" --json "$OUT/dashboard-$name.json" \
        | tee "$OUT/dashboard-$name.txt"
    echo "== $name: the same over HTTP (tern serve)"
    local key port
    key=$("$BIN/tern" keys create --name bench --config "$WORK/tern.yaml" "${storage[@]}" | tail -n 1)
    port=$(free_port)
    "$BIN/tern" serve --config "$WORK/tern.yaml" "${storage[@]}" --port "$port" >"$OUT/server-$name.log" 2>&1 &
    SERVER_PID=$!
    wait_for_line "$OUT/server-$name.log" "listening on"
    sleep 3  # the first monitoring round (nothing left to do after the seed's own)
    python3 "$ROOT/bench/dashboard/http_timing.py" "http://127.0.0.1:$port" "$key" "$RUNS" "$OUT/http-$name.json" gpt-4o "$TIMEOUT" "$BUDGET" \
        | tee "$OUT/http-$name.txt"
    awk '/VmHWM/ {print $2}' "/proc/$SERVER_PID/status" >"$OUT/rss-peak-kb-$name.txt"
    kill -TERM "$SERVER_PID"
    # A query that timed out may still run; do not wait for it for long.
    for _ in $(seq 1 100); do kill -0 "$SERVER_PID" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$SERVER_PID" 2>/dev/null || true
    wait "$SERVER_PID" 2>/dev/null || true
    SERVER_PID=""
}

if [ "$SQLITE" = 1 ]; then measure sqlite "$TRACES" --data-dir "$WORK/data"; fi
if [ "$POSTGRES" = 1 ]; then
    source "$ROOT/scripts/lib/postgres.sh"
    pg_ensure_installed
    pg_start
    "$PG_BIN/postgres" --version >"$OUT/postgres-version.txt"
    measure postgres "$TRACES_PG" --database-url "$PG_URL"
    psql -tA "$PG_URL" -c "SELECT pg_database_size(current_database()) / 1024" >"$OUT/db-kb-postgres.txt"
fi

python3 "$ROOT/bench/dashboard/report.py" "$OUT" | tee "$OUT/report.md"
echo "raw output: $OUT"
