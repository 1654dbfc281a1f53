# Shared by the gateway benchmarks: a work directory cleaned up at exit, ports, waiting for a log line, the stub
# upstream, Tern on a config.
#   source bench/lib/serve.sh; bench_workdir NAME   (start_stub and start_tern need BIN set)

# bench_workdir NAME: WORK, a new directory under BENCH_TMP (/tmp by default; /dev/shm puts SQLite in memory),
# removed at exit after every process in PIDS is stopped.
bench_workdir() {
    WORK=$(mktemp -d "${BENCH_TMP:-/tmp}/$1.XXXXXX")
    PIDS=()
    trap bench_cleanup EXIT INT TERM
}
bench_cleanup() {
    for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
    wait 2>/dev/null || true
    rm -rf "$WORK"
}

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'; }

wait_for_line() {  # file, text
    for _ in $(seq 1 600); do grep -q "$2" "$1" 2>/dev/null && return 0; sleep 0.1; done
    echo "timed out waiting for '$2' in $1" >&2; cat "$1" >&2; return 1
}

# start_stub: the OpenAI-compatible stub on a free port; sets STUB (its /v1 URL).
start_stub() {
    local port
    port=$(free_port)
    "$BIN/tern-stub" --port "$port" >"$WORK/stub.log" 2>&1 &
    PIDS+=($!)
    wait_for_line "$WORK/stub.log" "stub listening"
    STUB=http://127.0.0.1:$port/v1
}

# build_release PRODUCT...: release builds; sets BIN (their directory).
build_release() {
    local product
    for product in "$@"; do swift build -c release --product "$product" >/dev/null; done
    BIN=$(swift build -c release --show-bin-path)
}

# upstream_config FILE URL [EXTRA_YAML]: a tern.yaml with the model `bench` served by the OpenAI-compatible URL.
upstream_config() {
    cat >"$1" <<YAML
providers:
  up: {type: openai, base_url: "$2", api_key_env: BENCH_UPSTREAM_KEY}
models:
  bench:
    deployments:
      - {name: only, provider: up, model: gpt-4o-mini}
${3:-}log:
  level: warning
YAML
    export BENCH_UPSTREAM_KEY=sk-bench
}

# stub_config FILE: the same for the stub, with a trace queue deep enough for wrk's bursts.
stub_config() { upstream_config "$1" "$STUB" $'gateway:\n  trace_queue_capacity: 200000\n'; }

# The chat request of the gateway benchmarks; MODEL is replaced by the model's name.
BODY='{"model":"MODEL","messages":[{"role":"system","content":"You are a helpful assistant."},{"role":"user","content":"Say hello in one short sentence."}],"max_tokens":64,"temperature":0}'

# lua MODEL KEY [NAME]: a wrk script posting BODY for MODEL with KEY; prints its path (WORK/post-NAME.lua).
lua() {
    local path="$WORK/post-${3:-$1}.lua"
    cat >"$path" <<LUA
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer $2"
wrk.body = '${BODY/MODEL/$1}'
LUA
    echo "$path"
}

# start_tern TERN CONFIG [ROLE] [NAME]: migrates WORK/data (WORK/data-NAME), makes a key of ROLE (member) and
# serves, logging to WORK/tern.log (WORK/NAME.log); sets KEY, TERN_PORT, TERN_PID.
start_tern() {
    local data="$WORK/data${4:+-$4}" log="$WORK/${4:-tern}.log"
    "$1" migrate --config "$2" --data-dir "$data" >/dev/null  # only serve and migrate create a database
    KEY=$("$1" keys create --name bench --role "${3:-member}" --config "$2" --data-dir "$data" | tail -n 1)
    TERN_PORT=$(free_port)
    "$1" serve --config "$2" --data-dir "$data" --port "$TERN_PORT" >"$log" 2>&1 &
    TERN_PID=$!
    PIDS+=($TERN_PID)
    wait_for_line "$log" "listening on"
}
