#!/usr/bin/env bash
# Gateway memory and tail latency (issue 14): nginx as the upstream (it answers a fixed OpenAI chat
# completion from memory, faster than Tern's stub), Tern's gateway in front (release build, every call
# traced to SQLite through the journal), wrk on loopback.
#
#   1. Added latency at concurrency 1: ROUNDS rounds of runs, nginx alone, through Tern, through a second
#      Tern without the trace journal, interleaved in this script; added p50/p90/p99 = Tern's minus nginx's,
#      per round; the report gives each round, the medians, and the journal's cost (with minus without).
#   2. RSS over a SOAK-second run at concurrency 64 (sampled every 5 s) and after it.
#
#   bench/gateway/soak.sh                      # 10-minute soak, 5 latency pairs of 20 s
#   SOAK=60 ROUNDS=2 PAIR=10 bench/gateway/soak.sh   # a quick look
#   MALLOC_ARENA_MAX=2 bench/gateway/soak.sh   # environment reaches tern serve
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
SOAK=${SOAK:-600}
ROUNDS=${ROUNDS:-5}
PAIR=${PAIR:-20}
OUT=$ROOT/bench/out/soak-$(date -u +%Y%m%dT%H%M%SZ)
mkdir -p "$OUT"
source "$ROOT/bench/lib/serve.sh"
bench_workdir tern-soak
chmod 755 "$WORK"

need() {  # command, package
    command -v "$1" >/dev/null 2>&1 && return 0
    [ -x "/usr/sbin/$1" ] && return 0
    echo "== installing $2 (apt-get)"
    export DEBIAN_FRONTEND=noninteractive
    apt-get install -y -qq "$2" >/dev/null 2>&1 || { apt-get update -qq && apt-get install -y -qq "$2" >/dev/null; }
}
need wrk wrk
need nginx nginx-light
NGINX=$(command -v nginx || echo /usr/sbin/nginx)

echo "== building the release binary"
build_release tern


# nginx: one worker (Tern's host has two cores to share), a fixed answer.
NGINX_PORT=$(free_port)
ANSWER='{"id":"chatcmpl-nginx","object":"chat.completion","created":1767225600,"model":"gpt-4o-mini","choices":[{"index":0,"message":{"role":"assistant","content":"Hello! How can I help you today?"},"finish_reason":"stop","logprobs":null}],"usage":{"prompt_tokens":24,"completion_tokens":9,"total_tokens":33}}'
mkdir -p "$WORK/nginx"
cat >"$WORK/nginx/nginx.conf" <<CONF
daemon off;
worker_processes 1;
pid $WORK/nginx/nginx.pid;
error_log $WORK/nginx/error.log warn;
events { worker_connections 4096; }
http {
    access_log off;
    client_body_temp_path $WORK/nginx/body;
    keepalive_requests 1000000;
    server {
        listen 127.0.0.1:$NGINX_PORT;
        location / {
            default_type application/json;
            return 200 '$ANSWER';
        }
    }
}
CONF
"$NGINX" -c "$WORK/nginx/nginx.conf" -e "$WORK/nginx/error.log" &
PIDS+=($!)
for _ in $(seq 1 100); do curl -sf -X POST "http://127.0.0.1:$NGINX_PORT/v1/chat/completions" >/dev/null && break; sleep 0.1; done
UPSTREAM=http://127.0.0.1:$NGINX_PORT/v1

upstream_config "$WORK/tern.yaml" "$UPSTREAM"
start_tern "$BIN/tern" "$WORK/tern.yaml" member TERN
GATEWAY=http://127.0.0.1:$TERN_PORT/v1; TERN_URL=$GATEWAY
# A second Tern without the trace journal, for the journal's cost (latency rounds only).
cp "$WORK/tern.yaml" "$WORK/tern-nojournal.yaml"
printf 'gateway:\n  trace_journal: false\n' >>"$WORK/tern-nojournal.yaml"
FIRST_KEY=$KEY; FIRST_PORT=$TERN_PORT; FIRST_PID=$TERN_PID
start_tern "$BIN/tern" "$WORK/tern-nojournal.yaml" member TERN2
KEY2=$KEY; TERN2_PID=$TERN_PID; GATEWAY2=http://127.0.0.1:$TERN_PORT/v1; TERN2_URL=$GATEWAY2
KEY=$FIRST_KEY; TERN_PORT=$FIRST_PORT; TERN_PID=$FIRST_PID

UP_LUA=$(lua gpt-4o-mini none)
TERN_LUA=$(lua bench "$KEY")
TERN2_LUA=$(lua bench "$KEY2" bench-nojournal)
rss_kb() { awk '/VmRSS/ {print $2}' "/proc/$1/status"; }
echo "$(rss_kb $TERN_PID)" >"$OUT/rss-idle.txt"

for pair in "$TERN_URL $TERN_LUA" "$TERN2_URL $TERN2_LUA"; do
    set -- $pair
    status=$(curl -s -o /dev/null -w '%{http_code}' -X POST -H 'Content-Type: application/json' \
        -H "Authorization: $(sed -n 's/.*Authorization"\] = "\(.*\)"/\1/p' "$2")" -d "${BODY/MODEL/bench}" "$1/chat/completions")
    [ "$status" = 200 ] || { echo "a check call through $1 answered $status" >&2; exit 1; }
done
echo "== warm-up"
wrk -t 1 -c 8 -d 5s -s "$TERN_LUA" "$GATEWAY/chat/completions" >/dev/null
wrk -t 1 -c 8 -d 3s -s "$UP_LUA" "$UPSTREAM/chat/completions" >/dev/null
wrk -t 1 -c 8 -d 5s -s "$TERN2_LUA" "$GATEWAY2/chat/completions" >/dev/null

echo "== added latency at concurrency 1: $ROUNDS pairs of ${PAIR}s"
for round in $(seq 1 "$ROUNDS"); do
    wrk -t 1 -c 1 -d "${PAIR}s" --latency -s "$UP_LUA" "$UPSTREAM/chat/completions" >"$OUT/c1-nginx-$round.txt"
    wrk -t 1 -c 1 -d "${PAIR}s" --latency -s "$TERN_LUA" "$GATEWAY/chat/completions" >"$OUT/c1-tern-$round.txt"
    wrk -t 1 -c 1 -d "${PAIR}s" --latency -s "$TERN2_LUA" "$GATEWAY2/chat/completions" >"$OUT/c1-ternnojournal-$round.txt"
    echo "   round $round done"
done
kill -TERM $TERN2_PID; wait $TERN2_PID || true

echo "== RSS over a ${SOAK}s run at concurrency 64"
: >"$OUT/rss-series.txt"
# With each RSS sample, where the memory is (Tern's own gauges): heap in use and free-but-kept by malloc,
# SQLite's heap, the trace queue's bytes.
gauge() { awk -v name="$1" '$1 == name {printf "%d", $2}' "$OUT/metrics-now.txt"; }
: >"$OUT/memory-series.txt"
( for i in $(seq 5 5 "$SOAK"); do
    sleep 5
    echo "$i $(rss_kb $TERN_PID)" >>"$OUT/rss-series.txt"
    curl -s --max-time 2 "http://127.0.0.1:$TERN_PORT/metrics" >"$OUT/metrics-now.txt" || true
    echo "$i $(gauge 'tern_process_heap_bytes{state="in_use"}') $(gauge 'tern_process_heap_bytes{state="free"}') $(gauge tern_sqlite_memory_bytes) $(gauge tern_trace_queue_pending_bytes)" >>"$OUT/memory-series.txt"
  done ) &
SAMPLER=$!
wrk -t 2 -c 64 -d "${SOAK}s" --latency -s "$TERN_LUA" "$GATEWAY/chat/completions" >"$OUT/soak-c64.txt"
wait $SAMPLER || true
sleep 5
echo "$(rss_kb $TERN_PID)" >"$OUT/rss-after.txt"
awk '/VmHWM/ {print $2}' "/proc/$TERN_PID/status" >"$OUT/rss-peak.txt"
curl -s "http://127.0.0.1:$TERN_PORT/metrics" | grep -E '^tern_traces_|^tern_trace_queue_pending|^tern_trace_journal' >"$OUT/trace-metrics.txt" || true
rm -f "$OUT/metrics-now.txt"
echo "machine: $(nproc) cores, $(awk '/MemTotal/ {print int($2/1024)}' /proc/meminfo) MiB; load before: $(cut -d' ' -f1-3 /proc/loadavg)" >"$OUT/machine.txt"
kill -TERM $TERN_PID
wait $TERN_PID || true

python3 "$ROOT/bench/gateway/soak_report.py" "$OUT" | tee "$OUT/report.md"
echo "raw output: $OUT"
