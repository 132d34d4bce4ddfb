#!/usr/bin/env bash
# What the exporters cost per request, in instructions (callgrind Ir), which
# unlike req/s does not move with the load of a shared machine. Runs tycho
# (one worker) under callgrind with all three exporters on at 100 % sampling
# and the access log on (as bench/exporters.sh "on": one span and two log
# lines a request), sends N keep-alive GETs of the hello route one after the
# other, stops it with SIGTERM (the final flush is counted: every line and
# span is encoded once) and prints the Ir of its telemetry thread and of its
# worker thread, each divided by N. The same for N/2 requests then gives the
# cost per request without the fixed start-up and shutdown work:
#   per request = (Ir(N) - Ir(N/2)) / (N/2)
# A script, not a test; any build type (compare like with like).
#
#   N=4000 TYCHO_BIN=build-exp2/tycho bench/exporters_ir.sh
#   EXPORTERS=off ...   the same server with no exporter configured
#   EXPORTERS=logs ...  the Loki exporter only (the log path alone, minus off)
#   KEEP=dir ...        keeps the callgrind files (callgrind_annotate them)
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BENCH=$ROOT/bench
cd "$ROOT"
N=${N:-4000}
BIN=${TYCHO_BIN:-build-exp2/tycho}
EXPORTERS=${EXPORTERS:-on}
# shellcheck source=bench/lib/common.sh
. "$BENCH/lib/common.sh"
need_cmds valgrind node curl "$PY"
[ -x "$BIN" ] || die "no tycho binary at $BIN"

WORK=$(mktemp -d)
trap 'stop_all; rm -rf "$WORK"' EXIT

spawn "$WORK/receiver.log" node tests/exporters/receiver.js 0
for _ in $(seq 100); do grep -q '^PORT ' "$WORK/receiver.log" && break; sleep 0.05; done
RCV=http://127.0.0.1:$(sed -n 's/^PORT //p' "$WORK/receiver.log")
curl -sf -X POST -d '{"status":200,"keep":false}' "$RCV/__mode" >/dev/null ||
  die "receiver: $(cat "$WORK/receiver.log")"

run_one() { # requests -> "telemetry_ir worker_ir"
  local n=$1 port aport pid out=$WORK/cg.$1 env=()
  port=$(free_port)
  aport=$(free_port)
  case $EXPORTERS in
  on) env=(OTEL_EXPORTER_OTLP_ENDPOINT="$RCV" TYCHO_REMOTE_WRITE_URL="$RCV/api/v1/write"
    TYCHO_REMOTE_WRITE_INTERVAL=1 TYCHO_LOKI_URL="$RCV/loki/api/v1/push") ;;
  logs) env=(TYCHO_LOKI_URL="$RCV/loki/api/v1/push") ;;
  off) ;;
  *) die "EXPORTERS: on, logs or off" ;;
  esac
  mkdir -p "$out"
  spawn "$out/server.log" env "${env[@]}" OTEL_TRACES_SAMPLER=always_on TYCHO_RELOAD=off \
    valgrind --tool=callgrind --separate-threads=yes --callgrind-out-file="$out/cg.%p" \
    "$BIN" serve --workers 1 --routes tests/exporters/routes \
    --listen "127.0.0.1:$port" --admin-listen "127.0.0.1:$aport" --data-dir "$WORK/data"
  pid=$SPAWNED
  wait_http "http://127.0.0.1:$port/hello?q=1" 120 || die "tycho did not come up: $(tail "$out/server.log")"
  "$PY" - "$port" "$n" <<'EOF'
import http.client, sys
c = http.client.HTTPConnection("127.0.0.1", int(sys.argv[1]))
for _ in range(int(sys.argv[2]) - 1):  # wait_http made the first one
    c.request("GET", "/hello?q=1")
    r = c.getresponse()
    r.read()
    assert r.status == 200, r.status
EOF
  kill -TERM "$pid" # callgrind writes its files at exit: wait for it, slow as it is
  for _ in $(seq 1200); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  stop_pid "$pid" KILL
  local tel=0 wrk=0 f ir
  for f in "$out"/cg.*-*; do
    ir=$(sed -n 's/^totals: *\([0-9]*\).*/\1/p' "$f")
    [ -n "$ir" ] || ir=$(sed -n 's/^summary: *\([0-9]*\).*/\1/p' "$f")
    if grep -q 'tycho_logsink_drain\|tycho_hub_start' "$f"; then tel=$ir; fi
    if grep -q 'llhttp_execute' "$f"; then wrk=$ir; fi
  done
  if [ -n "${KEEP:-}" ]; then mkdir -p "$KEEP" && cp "$out"/cg.* "$KEEP/"; fi
  echo "$tel $wrk"
}

read -r t2 w2 < <(run_one "$N")
read -r t1 w1 < <(run_one $((N / 2)))
"$PY" - "$N" "$t1" "$w1" "$t2" "$w2" "$EXPORTERS" "$BIN" <<'EOF'
import sys
n = int(sys.argv[1]); t1, w1, t2, w2 = map(int, sys.argv[2:6])
h = n // 2
print("%s, exporters %s: %d and %d requests" % (sys.argv[7], sys.argv[6], h, n))
print("telemetry thread: %d / %d Ir in all; %.0f Ir per request" % (t1, t2, (t2 - t1) / (n - h)))
print("worker thread:    %d / %d Ir in all; %.0f Ir per request" % (w1, w2, (w2 - w1) / (n - h)))
EOF
