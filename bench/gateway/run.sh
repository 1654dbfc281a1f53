#!/usr/bin/env bash
# Gateway benchmark: the stub upstream, Tern's gateway (release build, every call traced to SQLite)
# and wrk on loopback. Reports requests/s and latency at concurrency 1 and 64 for the stub alone and
# through the gateway (added latency = gateway - stub, same run), streaming time to first token,
# peak RSS and RSS over a 60 s run, and how many traces reached the database.
#
#   bench/gateway/run.sh                 # Tern only (about 3 minutes after the build)
#   bench/gateway/run.sh --with-litellm  # also LiteLLM's proxy from PyPI in a throwaway virtualenv
#   DURATION=10 LONG=20 bench/gateway/run.sh   # shorter runs
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
WITH_LITELLM=0
for arg in "$@"; do
    case "$arg" in
        --with-litellm) WITH_LITELLM=1 ;;
        *) echo "usage: $0 [--with-litellm]" >&2; exit 2 ;;
    esac
done
DURATION=${DURATION:-15}
LONG=${LONG:-60}
OUT=$ROOT/bench/out/gateway-$(date -u +%Y%m%dT%H%M%SZ)
mkdir -p "$OUT"
# BENCH_TMP=/dev/shm puts the SQLite file in memory, to separate Tern's cost from the disk's.
source "$ROOT/bench/lib/serve.sh"
bench_workdir tern-bench

if ! command -v wrk >/dev/null 2>&1; then
    echo "== installing wrk (apt-get)"
    export DEBIAN_FRONTEND=noninteractive
    apt-get install -y -qq wrk >/dev/null 2>&1 || { apt-get update -qq && apt-get install -y -qq wrk >/dev/null; }
fi

echo "== building release binaries"
build_release tern tern-stub
# TERN=/path/to/tern benchmarks another build of Tern (e.g. a saved copy of the previous release, for a
# before/after comparison) against the same stub.
TERN=${TERN:-$BIN/tern}

start_stub
stub_config "$WORK/tern.yaml"
start_tern "$TERN" "$WORK/tern.yaml"
GATEWAY=http://127.0.0.1:$TERN_PORT/v1

STUB_LUA=$(lua gpt-4o-mini none)
TERN_LUA=$(lua bench "$KEY")

run_wrk() {  # name, url, lua, connections, seconds
    local threads=$(( $4 < 2 ? 1 : 2 ))
    wrk -t "$threads" -c "$4" -d "${5}s" --latency -s "$3" "$2/chat/completions" >"$OUT/wrk-$1.txt"
    echo "   $1: $(grep 'Requests/sec' "$OUT/wrk-$1.txt")"
}

rss_kb() { awk '/VmRSS/ {print $2}' "/proc/$1/status"; }
hwm_kb() { awk '/VmHWM/ {print $2}' "/proc/$1/status"; }
echo "$(rss_kb $TERN_PID)" >"$OUT/rss-idle.txt"

echo "== warm-up"
wrk -t 1 -c 8 -d 3s -s "$TERN_LUA" "$GATEWAY/chat/completions" >/dev/null
wrk -t 1 -c 8 -d 3s -s "$STUB_LUA" "$STUB/chat/completions" >/dev/null

wait_for_traces() {  # let the trace writer catch up, so each run starts from an empty queue
    for _ in $(seq 1 300); do
        pending=$(curl -s "http://127.0.0.1:$TERN_PORT/metrics" | awk '/^tern_trace_queue_pending / {print int($2)}')
        [ "${pending:-1}" = 0 ] && return 0
        sleep 0.1
    done
}
wait_for_traces

echo "== concurrency 1 (${DURATION}s each)"
run_wrk stub-c1 "$STUB" "$STUB_LUA" 1 "$DURATION"
run_wrk tern-c1 "$GATEWAY" "$TERN_LUA" 1 "$DURATION"
echo "== concurrency 64 (${DURATION}s each)"
run_wrk stub-c64 "$STUB" "$STUB_LUA" 64 "$DURATION"
wait_for_traces
run_wrk tern-c64 "$GATEWAY" "$TERN_LUA" 64 "$DURATION"
wait_for_traces

if [ "${QUICK:-0}" = 1 ]; then
    python3 "$ROOT/bench/gateway/report.py" "$OUT" | head -8
    exit 0
fi

echo "== streaming time to first token (sequential)"
python3 "$ROOT/bench/gateway/ttft.py" "$STUB" none gpt-4o-mini 300 >"$OUT/ttft-stub.txt"
python3 "$ROOT/bench/gateway/ttft.py" "$GATEWAY" "$KEY" bench 300 >"$OUT/ttft-tern.txt"

echo "== RSS over a ${LONG}s run at concurrency 64"
: >"$OUT/rss-series.txt"
( for i in $(seq 1 "$LONG"); do sleep 1; echo "$i $(rss_kb $TERN_PID)" >>"$OUT/rss-series.txt"; done ) &
SAMPLER=$!
run_wrk tern-long "$GATEWAY" "$TERN_LUA" 64 "$LONG"
wait $SAMPLER || true
echo "$(rss_kb $TERN_PID)" >"$OUT/rss-after.txt"
echo "$(hwm_kb $TERN_PID)" >"$OUT/rss-peak.txt"

curl -s "http://127.0.0.1:$TERN_PORT/metrics" | grep -E '^tern_traces_(dropped|written|failed)_total|^tern_trace_queue_pending' >"$OUT/trace-metrics.txt" || true
echo "== stopping Tern (SIGTERM flushes the trace queue)"
kill -TERM $TERN_PID
wait $TERN_PID || true
python3 - "$WORK/data/tern.sqlite" >"$OUT/traces-stored.txt" <<'PY'
import sqlite3, sys
db = sqlite3.connect(sys.argv[1])
print(db.execute("SELECT COUNT(*) FROM traces").fetchone()[0])
PY

if [ "$WITH_LITELLM" = 1 ]; then
    VENV=${LITELLM_VENV:-/tmp/tern-bench-litellm-venv}
    if ! "$VENV/bin/litellm" --version >/dev/null 2>&1; then
        echo "== installing litellm[proxy] into $VENV (pip)"
        python3 -m venv "$VENV"
        "$VENV/bin/pip" install -q --disable-pip-version-check 'litellm[proxy]'
    fi
    "$VENV/bin/pip" show litellm 2>/dev/null | awk '/^Version/ {print $2}' >"$OUT/litellm-version.txt"
    cat >"$WORK/litellm.yaml" <<YAML
model_list:
  - model_name: bench
    litellm_params:
      model: openai/gpt-4o-mini
      api_base: $STUB
      api_key: sk-bench
litellm_settings:
  telemetry: false
general_settings:
  master_key: sk-tern-bench-master-0123456789abcdef
YAML
    LITELLM_PORT=$(free_port)
    "$VENV/bin/litellm" --config "$WORK/litellm.yaml" --port "$LITELLM_PORT" --host 127.0.0.1 >"$WORK/litellm.log" 2>&1 &
    LITELLM_PID=$!
    PIDS+=($LITELLM_PID)
    for _ in $(seq 1 600); do curl -sf "http://127.0.0.1:$LITELLM_PORT/health/liveliness" >/dev/null && break; sleep 0.2; done
    curl -sf "http://127.0.0.1:$LITELLM_PORT/health/liveliness" >/dev/null || { echo "LiteLLM did not start:" >&2; tail -20 "$WORK/litellm.log" >&2; exit 1; }
    LITELLM=http://127.0.0.1:$LITELLM_PORT/v1
    LITELLM_LUA=$(lua bench sk-tern-bench-master-0123456789abcdef)
    wrk -t 1 -c 8 -d 3s -s "$LITELLM_LUA" "$LITELLM/chat/completions" >/dev/null
    echo "== LiteLLM"
    run_wrk stub2-c1 "$STUB" "$STUB_LUA" 1 "$DURATION"
    run_wrk litellm-c1 "$LITELLM" "$LITELLM_LUA" 1 "$DURATION"
    run_wrk litellm-c64 "$LITELLM" "$LITELLM_LUA" 64 "$DURATION"
    echo "$(hwm_kb $LITELLM_PID)" >"$OUT/litellm-rss-peak.txt"
    kill $LITELLM_PID 2>/dev/null || true
fi

python3 "$ROOT/bench/gateway/report.py" "$OUT" | tee "$OUT/report.md"
echo "raw output: $OUT"
