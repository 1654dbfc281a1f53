#!/usr/bin/env bash
# Ingest benchmark: observations per second through POST /api/v1/ingest (JSON batches) and through
# OTLP/HTTP protobuf at /v1/traces, into SQLite (and with POSTGRES=1 also into PostgreSQL), each phase
# on a fresh database and a fresh `tern serve` (release). After each phase the server gets SIGTERM and
# the script counts the rows in the database: every acknowledged observation must be there.
#
#   bench/ingest/run.sh                  # SQLite: ingest and OTLP, 30 s each (about 3 minutes after the build)
#   POSTGRES=1 bench/ingest/run.sh       # also a throwaway PostgreSQL cluster (scripts/lib/postgres.sh)
#   DURATION=10 CONCURRENCY=8 bench/ingest/run.sh
#   BENCH_TMP=/dev/shm bench/ingest/run.sh   # SQLite file in memory (separates Tern's cost from the disk's)

#
# Load: bench/ingest/load.py, CONCURRENCY worker processes (default 4) with one keep-alive connection
# each; a request holds TRACES traces (default 100) of SPANS observations (default 5: a root span and
# four generations), so 600 events per ingest request and 500 spans per OTLP request.
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
DURATION=${DURATION:-30}
WARMUP=${WARMUP:-3}
CONCURRENCY=${CONCURRENCY:-4}
TRACES=${TRACES:-100}
SPANS=${SPANS:-5}
POSTGRES=${POSTGRES:-0}
OUT=$ROOT/bench/out/ingest-$(date -u +%Y%m%dT%H%M%SZ)
mkdir -p "$OUT"
WORK=$(mktemp -d "${BENCH_TMP:-/tmp}/tern-bench-ingest.XXXXXX")
SERVER_PID=""
SAMPLER_PID=""
cleanup() {
    if [ -n "$SAMPLER_PID" ]; then kill "$SAMPLER_PID" 2>/dev/null || true; fi
    if [ -n "$SERVER_PID" ]; then kill "$SERVER_PID" 2>/dev/null || true; wait "$SERVER_PID" 2>/dev/null || true; fi
    if [ "$POSTGRES" = 1 ] && declare -F pg_stop >/dev/null; then pg_stop; fi
    rm -rf "$WORK"
}
trap cleanup EXIT INT TERM

if ! command -v sqlite3 >/dev/null 2>&1; then
    echo "== installing sqlite3 (apt-get)"
    export DEBIAN_FRONTEND=noninteractive
    apt-get install -y -qq sqlite3 >/dev/null 2>&1 || { apt-get update -qq && apt-get install -y -qq sqlite3 >/dev/null; }
fi

# TERN=/path/to/tern benchmarks that build instead of building one (e.g. a saved copy of the previous
# release and the current one, for a before/after comparison).
if [ -z "${TERN:-}" ]; then
    echo "== building release (scratch path .build-bench)"
    swift build -c release -j "${BENCH_JOBS:-2}" --scratch-path .build-bench --product tern >"$OUT/build.log" 2>&1 \
        || { tail -n 30 "$OUT/build.log" >&2; exit 1; }
    TERN=$(swift build -c release --scratch-path .build-bench --show-bin-path)/tern
fi

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'; }
wait_for_line() {  # file, text
    for _ in $(seq 1 600); do
        grep -q "$2" "$1" 2>/dev/null && return 0
        sleep 0.1
    done
    echo "timed out waiting for '$2' in $1" >&2; cat "$1" >&2; return 1
}
cpu_seconds() {  # pid -> user+system CPU seconds so far
    awk -v hz="$(getconf CLK_TCK)" '{print ($14 + $15) / hz}' "/proc/$1/stat"
}

{
    echo "date: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
    echo "commit: $(git rev-parse --short HEAD 2>/dev/null || echo unknown)$(git diff --quiet 2>/dev/null || echo ' (uncommitted changes)')"
    echo "nproc: $(nproc)"
    echo "cpu: $(lscpu | awk -F: '/Model name/ {gsub(/^ +/, "", $2); print $2; exit}')"
    echo "memory: $(awk '/MemTotal/ {printf "%.1f GiB", $2/1048576}' /proc/meminfo)"
    echo "kernel: $(uname -r)"
    echo "swift: $(swift --version 2>/dev/null | head -n 1)"
    echo "python: $(python3 --version)"
    echo "tmp: ${BENCH_TMP:-/tmp}"
    echo "load: duration ${DURATION}s after ${WARMUP}s warm-up, concurrency $CONCURRENCY, $TRACES traces x $SPANS observations per request"
} >"$OUT/machine.txt"

# What else ran on the cores: load average and compiler processes, every 5 s (this machine is shared).
( while true; do
    echo "$(date -u +%H:%M:%S) load $(cut -d' ' -f1-3 /proc/loadavg) compilers $(pgrep -c -f 'swift-frontend|swift-build|clang' || true)"
    sleep 5
  done ) >"$OUT/other-load.txt" 2>/dev/null &
SAMPLER_PID=$!

cat >"$WORK/tern.yaml" <<YAML
server:
  max_body_bytes: 16777216
log:
  level: warning
YAML

# One phase: backend (sqlite|postgres), mode (ingest|otlp).
phase() {
    local backend=$1 mode=$2 name="$1-$2" storage=() count
    if [ "$backend" = sqlite ]; then
        storage=(--data-dir "$WORK/$name")
    else
        psql -q "$PG_URL" -c "CREATE DATABASE bench_$mode" >/dev/null
        DB_URL=$(echo "$PG_URL" | sed "s#/postgres?#/bench_$mode?#")
        storage=(--database-url "$DB_URL")
    fi
    local key port
    "$TERN" migrate --config "$WORK/tern.yaml" "${storage[@]}" >/dev/null  # only serve and migrate create a database
    key=$("$TERN" keys create --name bench --config "$WORK/tern.yaml" "${storage[@]}" | tail -n 1)
    port=$(free_port)
    "$TERN" serve --config "$WORK/tern.yaml" "${storage[@]}" --port "$port" >"$OUT/server-$name.log" 2>&1 &
    SERVER_PID=$!
    wait_for_line "$OUT/server-$name.log" "listening on"
    local cpu0 t0 cpu1 t1
    cpu0=$(cpu_seconds "$SERVER_PID"); t0=$(date +%s.%N)
    echo "== $name: $CONCURRENCY clients for ${WARMUP}+${DURATION}s"
    python3 "$ROOT/bench/ingest/load.py" --url "http://127.0.0.1:$port" --key "$key" --mode "$mode" --duration "$DURATION" \
        --warmup "$WARMUP" --concurrency "$CONCURRENCY" --traces "$TRACES" --spans "$SPANS" --json "$OUT/load-$name.json" \
        | tee "$OUT/load-$name.txt" || true
    cpu1=$(cpu_seconds "$SERVER_PID"); t1=$(date +%s.%N)
    awk '/VmHWM/ {print $2}' "/proc/$SERVER_PID/status" >"$OUT/rss-peak-kb-$name.txt"
    python3 -c "print(f'{($cpu1 - $cpu0):.1f} {($t1 - $t0):.1f}')" >"$OUT/server-cpu-$name.txt"
    kill -TERM "$SERVER_PID"
    wait "$SERVER_PID" || true
    SERVER_PID=""
    if [ "$backend" = sqlite ]; then
        count=$(sqlite3 "$WORK/$name/tern.sqlite" "SELECT (SELECT COUNT(*) FROM observations) || ' ' || (SELECT COUNT(*) FROM traces)")
        du -sk "$WORK/$name" | awk '{print $1}' >"$OUT/db-kb-$name.txt"
        rm -rf "${WORK:?}/$name"
    else
        count=$(psql -tA "$DB_URL" -c "SELECT (SELECT COUNT(*) FROM observations) || ' ' || (SELECT COUNT(*) FROM traces)")
        psql -tA "$DB_URL" -c "SELECT pg_database_size(current_database()) / 1024" >"$OUT/db-kb-$name.txt"
    fi
    echo "$count" >"$OUT/stored-$name.txt"
    python3 - "$OUT" "$name" <<'PY'
import json, sys
out, name = sys.argv[1], sys.argv[2]
load = json.load(open(f"{out}/load-{name}.json"))
obs, traces = map(int, open(f"{out}/stored-{name}.txt").read().split())
cpu, wall = map(float, open(f"{out}/server-cpu-{name}.txt").read().split())
rss = int(open(f"{out}/rss-peak-kb-{name}.txt").read()) / 1024
lost = load["observations"] - obs
print(f"   stored: {obs:,} observations ({load['observations']:,} acknowledged, lost {lost:,}), {traces:,} traces "
      f"({load['traces']:,} acknowledged); server CPU {cpu:.1f} s in {wall:.1f} s; peak RSS {rss:.0f} MB")
PY
}

phase sqlite ingest
phase sqlite otlp
if [ "$POSTGRES" = 1 ]; then
    source "$ROOT/scripts/lib/postgres.sh"
    pg_ensure_installed
    pg_start
    "$PG_BIN/postgres" --version >"$OUT/postgres-version.txt"
    phase postgres ingest
    phase postgres otlp
fi

python3 "$ROOT/bench/ingest/report.py" "$OUT" | tee "$OUT/report.md"
echo "raw output: $OUT"
