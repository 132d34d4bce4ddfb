#!/usr/bin/env bash
# What the exporters cost: hello-route throughput with all three exporters on
# (OTLP traces at 100 % sampling, remote write every second, Loki push of
# every log line) divided by the same server with no exporter configured.
# The route is tests/exporters/routes/hello.lua (a log line, then {"ok":true});
# the access log is on in both, written to /dev/null. One worker each, both
# servers pinned to CPU 0 (their telemetry thread too); wrk (-t1) and the
# loopback receiver (tests/exporters/receiver.js answering 200, keeping
# nothing) on CPU 1. Runs are interleaved (off, on, off, on, ...) so
# background noise hits both alike; prints every run, medians with min-max,
# the ratio on / off, and what the exporters sent and dropped. A script, not
# a timed test; it needs a Release build.
#
#   PAIRS=7 DURATION=5 CONNECTIONS=50 bench/exporters.sh
#   TYCHO_BIN=build-bench/tycho (default; bench/run builds it)  RESULTS=bench/results
set -euo pipefail
cd "$(dirname "$0")/.."
PAIRS=${PAIRS:-7}
DURATION=${DURATION:-5}
CONNECTIONS=${CONNECTIONS:-50}
BIN=${TYCHO_BIN:-build-bench/tycho}
RESULTS=${RESULTS:-bench/results}
SERVER_CPU=${SERVER_CPU:-0}
CLIENT_CPU=${CLIENT_CPU:-1}

for cmd in wrk node taskset curl /usr/bin/python3; do
  command -v "$cmd" >/dev/null || { echo "missing $cmd (scripts/setup installs wrk and nodejs)"; exit 1; }
done
[ -x "$BIN" ] || { echo "no tycho binary at $BIN (TYCHO_BUILD_TYPE=Release scripts/build)"; exit 1; }
grep -q '^CMAKE_BUILD_TYPE:STRING=Release$' "$(dirname "$BIN")/CMakeCache.txt" 2>/dev/null ||
  { echo "$BIN is not a Release build (TYCHO_BUILD_DIR=build-bench TYCHO_BUILD_TYPE=Release scripts/build)"; exit 1; }

work=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT
mkdir -p "$RESULTS/raw"

# --- the receiver: 200 for everything, nothing kept ---------------------------
taskset -c "$CLIENT_CPU" node tests/exporters/receiver.js 0 >"$work/receiver.port" 2>"$work/receiver.err" &
pids+=($!)
for _ in $(seq 100); do grep -q '^PORT ' "$work/receiver.port" && break; sleep 0.05; done
rport=$(sed -n 's/^PORT //p' "$work/receiver.port")
[ -n "$rport" ] || { cat "$work/receiver.err"; exit 1; }
curl -sf -X POST -d '{"status":200,"keep":false}' "http://127.0.0.1:$rport/__mode" >/dev/null
rcv=http://127.0.0.1:$rport

# --- two servers, the same but for the exporters --------------------------------
free_port() { /usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_http() { # url
  for _ in $(seq 100); do
    curl -fs -o /dev/null "$1" && return 0
    sleep 0.05
  done
  echo "server at $1 did not come up"
  exit 1
}
start_tycho() { # name port admin-port env...  (stdout, the access log, goes to /dev/null)
  local name=$1 port=$2 aport=$3
  shift 3
  env "$@" OTEL_TRACES_SAMPLER=always_on TYCHO_RELOAD=off taskset -c "$SERVER_CPU" "$BIN" serve \
    --workers 1 --routes tests/exporters/routes --listen "127.0.0.1:$port" \
    --admin-listen "127.0.0.1:$aport" --data-dir "$work/data-$name" >/dev/null 2>"$work/$name.err" &
  pids+=($!)
}
off_port=$(free_port) off_admin=$(free_port) on_port=$(free_port) on_admin=$(free_port)
start_tycho off "$off_port" "$off_admin"
start_tycho on "$on_port" "$on_admin" OTEL_EXPORTER_OTLP_ENDPOINT="$rcv" \
  TYCHO_REMOTE_WRITE_URL="$rcv/api/v1/write" TYCHO_REMOTE_WRITE_INTERVAL=1 \
  TYCHO_LOKI_URL="$rcv/loki/api/v1/push"
OFF_URL="http://127.0.0.1:$off_port/hello?q=1"
ON_URL="http://127.0.0.1:$on_port/hello?q=1"
wait_http "$OFF_URL"
wait_http "$ON_URL"
exporters() { # ADMIN-PORT: what each enabled exporter sent and dropped
  curl -sf "http://127.0.0.1:$1/-/status" | /usr/bin/python3 -c '
import json, sys
e = json.load(sys.stdin)["exporters"]
print("; ".join("%s sent %d, dropped %s" % (k, e[k]["sent"], e[k]["dropped_by_reason"] or 0)
                for k in ("traces", "metrics", "logs") if e.get(k, {}).get("enabled")) or "none")'
}
echo "off: $(curl -s "$OFF_URL"), exporters: $(exporters "$off_admin")"
echo "on:  $(curl -s "$ON_URL"), exporters: $(exporters "$on_admin")"

run_wrk() { # name url run
  local out="$RESULTS/raw/exporters-$1-$3.txt"
  taskset -c "$CLIENT_CPU" wrk -t1 -c"$CONNECTIONS" -d"${DURATION}s" --latency "$2" >"$out"
  local rps p50 p99 err
  rps=$(awk '/^Requests\/sec:/ {print $2}' "$out")
  p50=$(awk '$1 == "50%" {print $2}' "$out")
  p99=$(awk '$1 == "99%" {print $2}' "$out")
  err=$(grep -E 'Socket errors|Non-2xx' "$out" | tr '\n' ' ' || true)
  printf '%-4s run %d: %10.0f req/s  p50 %-8s p99 %-8s %s\n' "$1" "$3" "$rps" "$p50" "$p99" "$err"
  echo "$1 $3 $rps $p50 $p99" >>"$work/results"
  sleep 1 # the on server's queues drain before the next run
}

# warm-up (JIT, caches, TCP), not recorded
taskset -c "$CLIENT_CPU" wrk -t1 -c"$CONNECTIONS" -d1s "$OFF_URL" >/dev/null
taskset -c "$CLIENT_CPU" wrk -t1 -c"$CONNECTIONS" -d1s "$ON_URL" >/dev/null
sleep 1

echo "load: $(cut -d' ' -f1-3 /proc/loadavg); $PAIRS pairs, ${DURATION}s, $CONNECTIONS connections, servers on CPU $SERVER_CPU, wrk and receiver on CPU $CLIENT_CPU"
for i in $(seq 1 "$PAIRS"); do
  run_wrk off "$OFF_URL" "$i"
  run_wrk on "$ON_URL" "$i"
done
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "the on server's exporters over all runs: $(exporters "$on_admin")"

/usr/bin/python3 - "$work/results" "$RESULTS/raw/exporters-summary.md" <<'EOF'
import statistics, sys, time

def ms(s):  # wrk latency: 512.00us, 1.20ms, 2.00s
    for unit, f in (("us", 1e-3), ("ms", 1.0), ("s", 1e3)):
        if s.endswith(unit):
            return float(s[: -len(unit)]) * f
    return float(s)

data = {}
for name, run, rps, p50, p99 in (line.split() for line in open(sys.argv[1])):
    d = data.setdefault(name, {"rps": [], "p50": [], "p99": []})
    d["rps"].append(float(rps)); d["p50"].append(ms(p50)); d["p99"].append(ms(p99))
med = {n: {k: statistics.median(v) for k, v in d.items()} for n, d in data.items()}
lines = ["| exporters | req/s median (min-max) | p50 ms median (min-max) | p99 ms median (min-max) |",
         "|---|---|---|---|"]
for n, d in data.items():
    lines.append("| %s | %.0f (%.0f-%.0f) | %.3f (%.3f-%.3f) | %.3f (%.3f-%.3f) |" % (
        n, med[n]["rps"], min(d["rps"]), max(d["rps"]), med[n]["p50"], min(d["p50"]), max(d["p50"]),
        med[n]["p99"], min(d["p99"]), max(d["p99"])))
pairs = [on / off for off, on in zip(data["off"]["rps"], data["on"]["rps"])]
lines.append("")
lines.append("ratio on / off: req/s %.3f (medians of %d interleaved pairs; per pair: median %.3f, "
             "min %.3f, max %.3f); target >= 0.9" % (med["on"]["rps"] / med["off"]["rps"], len(pairs),
             statistics.median(pairs), min(pairs), max(pairs)))
text = "\n".join(lines)
print(); print(text)
with open(sys.argv[2], "w") as f:
    f.write("# Exporters on / off, hello route (%s)\n\n%s\n" % (
        time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), text))
EOF
