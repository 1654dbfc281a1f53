#!/usr/bin/env bash
# The gateway with and without a deterministic watcher scoring 100% of its traffic (issue 18: "bench/gateway
# figures stay within noise of the figures without it"). One server, one stub, one database: rounds alternate
# the watcher off and on (PATCH enabled), each round wrk at concurrency 1 and 64 for DURATION seconds; the
# report gives each condition's medians over the rounds and the ratio on/off, and how many traces the watcher
# scored.
#
#   bench/watch/gateway.sh
#   ROUNDS=5 DURATION=10 bench/watch/gateway.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
DURATION=${DURATION:-10}
ROUNDS=${ROUNDS:-3}
OUT=$ROOT/bench/out/watch-gateway-$(date -u +%Y%m%dT%H%M%SZ)
mkdir -p "$OUT"
source "$ROOT/bench/lib/serve.sh"
bench_workdir tern-watch-gw
command -v wrk >/dev/null 2>&1 || { apt-get install -y -qq wrk >/dev/null 2>&1 || { apt-get update -qq && apt-get install -y -qq wrk >/dev/null; }; }

build_release tern tern-stub
TERN=${TERN:-$BIN/tern}

start_stub
stub_config "$WORK/tern.yaml"
start_tern "$TERN" "$WORK/tern.yaml" admin
API=http://127.0.0.1:$TERN_PORT/api/v1
GATEWAY=http://127.0.0.1:$TERN_PORT/v1

curl -sf -X POST "$API/watchers" -H "Authorization: Bearer $KEY" -H 'Content-Type: application/json' -d '{
  "name": "bench", "sampling_rate": 1, "enabled": false,
  "assertions": [{"type": "icontains", "value": "hello"}, {"type": "regex", "value": "[A-Z][a-z]+"}, {"type": "not-contains", "value": "sorry"}]
}' >/dev/null

LUA=$(lua bench "$KEY")
wrk -t 1 -c 8 -d 3s -s "$LUA" "$GATEWAY/chat/completions" >/dev/null

watcher() {  # true|false
    curl -sf -X PATCH "$API/watchers/bench" -H "Authorization: Bearer $KEY" -H 'Content-Type: application/json' -d "{\"enabled\": $1}" >/dev/null
}
for round in $(seq 1 "$ROUNDS"); do
    for state in off on; do
        watcher "$([ $state = on ] && echo true || echo false)"
        for c in 1 64; do
            threads=$(( c < 2 ? 1 : 2 ))
            wrk -t "$threads" -c "$c" -d "${DURATION}s" --latency -s "$LUA" "$GATEWAY/chat/completions" >"$OUT/wrk-$state-c$c-r$round.txt"
            echo "round $round, watcher $state, c=$c: $(grep 'Requests/sec' "$OUT/wrk-$state-c$c-r$round.txt")"
        done
    done
done
watcher false
curl -s "http://127.0.0.1:$TERN_PORT/metrics" | grep -E '^tern_watcher_jobs' >"$OUT/watcher-metrics.txt" || true
python3 - "$OUT" "$ROUNDS" <<'PY' | tee "$OUT/report.txt"
import re, statistics, sys, pathlib
out, rounds = pathlib.Path(sys.argv[1]), int(sys.argv[2])
def parse(path):
    text = path.read_text()
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", text).group(1))
    def ms(label):
        m = re.search(rf"\s{label}%\s+([\d.]+)(us|ms|s)", text)
        v = float(m.group(1)); return v / 1000 if m.group(2) == "us" else v * 1000 if m.group(2) == "s" else v
    return rps, ms("50"), ms("99")
for c in (1, 64):
    rows = {s: [parse(out / f"wrk-{s}-c{c}-r{r}.txt") for r in range(1, rounds + 1)] for s in ("off", "on")}
    med = {s: [statistics.median(x[i] for x in rows[s]) for i in range(3)] for s in rows}
    print(f"c={c}: requests/s off {med['off'][0]:.0f}, on {med['on'][0]:.0f} (on/off {med['on'][0] / med['off'][0]:.3f}); "
          f"p50 off {med['off'][1]:.3f} ms, on {med['on'][1]:.3f} ms; p99 off {med['off'][2]:.3f} ms, on {med['on'][2]:.3f} ms")
    print(f"   per round (requests/s) off {[round(x[0]) for x in rows['off']]}, on {[round(x[0]) for x in rows['on']]}")
print((out / "watcher-metrics.txt").read_text().strip())
PY
echo "machine: $(nproc) cores; load $(cut -d' ' -f1-3 /proc/loadavg)" | tee -a "$OUT/report.txt"
