#!/usr/bin/env bash
# What the exporters cost: hello-route throughput with all three exporters on
# (OTLP traces at 100 % sampling, remote write every second, Loki push of
# every log line) divided by the same server with no exporter configured.
# The route is tests/exporters/routes/hello.lua (a log line, then {"ok":true});
# the access log is on in both, written to /dev/null. One worker each, both
# servers pinned to CPU 0 (their telemetry thread too); wrk (-t1) and the
# loopback receiver on CPU 1. The receiver is bench/sink/sink.c by default
# (reads each body, answers 200, keeps nothing): wrk's core is saturated, so
# whatever a receiver does there slows the load, not the server, and in
# production the receivers are on other machines. RECEIVER=node uses
# tests/exporters/receiver.js instead, which takes about 1.5 us of CPU 1 per
# request. Runs are interleaved (off, on, off, on, ...) so
# background noise hits both alike; prints every run, medians with min-max,
# the ratio on / off, what the exporters sent and dropped, and the CPU time
# of each server's worker and telemetry thread per request (by thread name,
# from /proc: 10 ms ticks, so a few per cent), how busy the server kept its
# core, and the ratio of the CPU per request (off / on): when a server used
# well under its whole core, the load set its rate and the req/s ratio says
# little, while the CPU ratio still says what the exporters cost. A script, not
# a timed test; it needs a Release build. Helpers: bench/lib/common.sh.
#
#   PAIRS=7 DURATION=5 CONNECTIONS=50 bench/exporters.sh
#   ROUTES=tests/exporters/routes URL_PATH='/hello?q=1' (another route: ROUTES=bench/routes URL_PATH=/json)
#   TYCHO_BIN=build-bench/tycho (default; bench/run builds it)
#   RESULTS=bench/results (raw wrk output and a summary under raw/exporters/)
#   RECEIVER=sink (default) or node
#   ON_ENV='OTEL_TRACES_SAMPLER=traceidratio OTEL_TRACES_SAMPLER_ARG=0.1' (more
#     environment for the on server only: what another configuration costs)
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BENCH=$ROOT/bench
cd "$ROOT"
PAIRS=${PAIRS:-7}
DURATION=${DURATION:-5}
CONNECTIONS=${CONNECTIONS:-50}
ROUTES=${ROUTES:-tests/exporters/routes}
URL_PATH=${URL_PATH:-/hello?q=1}
BIN=${TYCHO_BIN:-build-bench/tycho}
RESULTS=${RESULTS:-$BENCH/results}
SERVER_CPU=${SERVER_CPU:-0}
CLIENT_CPU=${CLIENT_CPU:-1}
# shellcheck source=bench/lib/common.sh
. "$BENCH/lib/common.sh"

RECEIVER=${RECEIVER:-sink}
need_cmds wrk taskset curl cc "$PY"
need_release_bin "$BIN"
bench_workdir exporters

# --- the receiver: 200 for everything, nothing kept ---------------------------
case $RECEIVER in
sink)
  cc -O2 -Wall -Wextra -Werror -o "$WORK/sink" "$BENCH/sink/sink.c" || die "sink.c did not build"
  spawn "$WORK/receiver.log" taskset -c "$CLIENT_CPU" "$WORK/sink" 0
  ;;
node)
  need_cmds node
  spawn "$WORK/receiver.log" taskset -c "$CLIENT_CPU" node tests/exporters/receiver.js 0
  ;;
*) die "RECEIVER: sink or node" ;;
esac
RECEIVER_PID=$SPAWNED
for _ in $(seq 100); do grep -q '^PORT ' "$WORK/receiver.log" && break; sleep 0.05; done
RCV=http://127.0.0.1:$(sed -n 's/^PORT //p' "$WORK/receiver.log")
[ "$RCV" != http://127.0.0.1: ] || die "receiver: $(cat "$WORK/receiver.log")"
if [ "$RECEIVER" = node ]; then
  curl -sf -X POST -d '{"status":200,"keep":false}' "$RCV/__mode" >/dev/null ||
    die "receiver: $(cat "$WORK/receiver.log")"
fi

# --- two servers, the same but for the exporters --------------------------------
start_tycho() { # name env... ; sets ${name}_URL and ${name}_ADMIN (stdout, the access log: /dev/null)
  local name=$1 port aport
  shift
  port=$(free_port)
  aport=$(free_port)
  spawn /dev/null env OTEL_TRACES_SAMPLER=always_on TYCHO_RELOAD=off "$@" \
    taskset -c "$SERVER_CPU" "$BIN" serve --workers 1 --routes "$ROUTES" \
    --listen "127.0.0.1:$port" --admin-listen "127.0.0.1:$aport" --data-dir "$WORK/data-$name"
  printf -v "${name}_PID" '%s' "$SPAWNED"
  printf -v "${name}_URL" '%s' "http://127.0.0.1:$port$URL_PATH"
  printf -v "${name}_ADMIN" '%s' "http://127.0.0.1:$aport"
  wait_http "http://127.0.0.1:$port$URL_PATH" || die "tycho ($name) did not come up"
}
off_URL="" off_ADMIN="" off_PID="" on_URL="" on_ADMIN="" on_PID=""
start_tycho off
# shellcheck disable=SC2086 # ON_ENV: words, each a NAME=value
start_tycho on OTEL_EXPORTER_OTLP_ENDPOINT="$RCV" TYCHO_REMOTE_WRITE_URL="$RCV/api/v1/write" \
  TYCHO_REMOTE_WRITE_INTERVAL=1 TYCHO_LOKI_URL="$RCV/loki/api/v1/push" ${ON_ENV:-}
exporters() { # ADMIN-URL: what each enabled exporter sent and dropped
  curl -sf "$1/-/status" | "$PY" -c '
import json, sys
e = json.load(sys.stdin)["exporters"]
print("; ".join("%s sent %d, dropped %s" % (k, e[k]["sent"], e[k]["dropped_by_reason"] or 0)
                for k in ("traces", "metrics", "logs") if e.get(k, {}).get("enabled")) or "none", end="")'
  # lines the log sink could not take (its ring full) never reach an exporter
  printf '; log lines dropped before any exporter: %s\n' \
    "$(curl -sf "$1/metrics" | sed -n 's/^tycho_telemetry_dropped_total{signal="logs",reason="queue_full"} //p')"
}
log "off: $(curl -s "$off_URL"), exporters: $(exporters "$off_ADMIN")"
log "on:  $(curl -s "$on_URL"), exporters: $(exporters "$on_ADMIN")"

# CPU time (clock ticks, user + system) of a server's worker threads and of
# its telemetry thread, by thread name (tycho-w<N>, tycho-admin)
thread_ticks() { # pid -> "worker telemetry"
  local w=0 t=0 name ticks d
  for d in /proc/"$1"/task/*; do
    name=$(cat "$d/comm" 2>/dev/null) || continue
    ticks=$(awk '{ print $14 + $15 }' "$d/stat" 2>/dev/null) || continue
    case $name in
    tycho-w*) w=$((w + ticks)) ;;
    tycho-admin) t=$((t + ticks)) ;;
    esac
  done
  echo "$w $t"
}
TICK=$(getconf CLK_TCK)
measured_run() { # subject run url pid: run_wrk, plus each thread's CPU us per request
  local subj=$1 run=$2 url=$3 pid=$4 before after n t0 t1
  before=$(thread_ticks "$pid")
  t0=$(date +%s%N)
  run_wrk exporters "$subj" "$run" "$url"
  t1=$(date +%s%N)
  after=$(thread_ticks "$pid")
  n=$(awk '/requests in/ { print $1 }' "$RAW/exporters-$subj-$run.wrk")
  [ -n "$n" ] && [ "$n" -gt 0 ] || return 0
  # shellcheck disable=SC2086
  set -- $before $after
  record exporters "$subj" worker_us "$run" "$(awk -v d=$(($3 - $1)) -v n="$n" -v t="$TICK" 'BEGIN { printf "%.3f", d * 1e6 / t / n }')"
  record exporters "$subj" telemetry_us "$run" "$(awk -v d=$(($4 - $2)) -v n="$n" -v t="$TICK" 'BEGIN { printf "%.3f", d * 1e6 / t / n }')"
  # how much of its core the server used: near 1, the server set the rate;
  # well below, the load did (wrk's core, the host) and the ratio reads high
  record exporters "$subj" core_busy "$run" "$(awk -v d=$(($3 + $4 - $1 - $2)) -v w=$((t1 - t0)) -v t="$TICK" 'BEGIN { printf "%.3f", d / t / (w / 1e9) }')"
}

# warm-up (JIT, caches, TCP), not recorded
for url in "$off_URL" "$on_URL"; do taskset -c "$CLIENT_CPU" wrk -t1 -c"$CONNECTIONS" -d1s "$url" >/dev/null; done
sleep 1
log "load: $(cut -d' ' -f1-3 /proc/loadavg); GET $URL_PATH ($ROUTES), $PAIRS pairs of ${DURATION}s, $CONNECTIONS connections," \
  "servers on CPU $SERVER_CPU, wrk and receiver on CPU $CLIENT_CPU${ON_ENV:+; on server also: $ON_ENV}"
for i in $(seq 1 "$PAIRS"); do
  measured_run off "$i" "$off_URL" "$off_PID"
  sleep 1 # the on server's queues drain before the next run
  measured_run on "$i" "$on_URL" "$on_PID"
  sleep 1
done
log "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
log "the on server's exporters over all runs: $(exporters "$on_ADMIN")"
if [ "$RECEIVER" = sink ]; then
  stop_pid "$RECEIVER_PID"
  log "the sink received: $(grep '^requests' "$WORK/receiver.log" || echo '(nothing printed)')"
fi

# medians (min-max) per subject, the ratio of the req/s medians, per-pair ratios
"$PY" - "$TSV" "$RAW/summary.md" <<'EOF'
import statistics, sys, time
vals = {}
for sc, subj, metric, run, v in (l.rstrip("\n").split("\t") for l in open(sys.argv[1])):
    vals.setdefault((subj, metric), []).append(float(v))
def cell(subj, metric, fmt):
    v = vals[(subj, metric)]
    return ("%s (%s-%s)" % (fmt, fmt, fmt)) % (statistics.median(v), min(v), max(v))
out = ["| exporters | req/s | p50 ms | p99 ms | errors |", "|---|---|---|---|---|"]
for s in ("off", "on"):
    out.append("| %s | %s | %s | %s | %d |" % (s, cell(s, "rps", "%.0f"), cell(s, "p50_ms", "%.3f"),
                                            cell(s, "p99_ms", "%.3f"), sum(vals[(s, "errors")])))
cpu = ["", "CPU per request, medians (us, user + system, by thread):"]
for s in ("off", "on"):
    if (s, "worker_us") in vals:
        cpu.append("- %s: worker %.2f, telemetry thread %.2f; the server's core busy %.0f %% of each run" % (
            s, statistics.median(vals[(s, "worker_us")]), statistics.median(vals[(s, "telemetry_us")]),
            100 * statistics.median(vals[(s, "core_busy")])))
if len(cpu) > 2:
    cost = {s: statistics.median(vals[(s, "worker_us")]) + statistics.median(vals[(s, "telemetry_us")])
            for s in ("off", "on")}
    cpu.append("- CPU per request off / on: %.3f (the ratio a server saturating its core would show)" %
               (cost["off"] / cost["on"]))
    if min(statistics.median(vals[(s, "core_busy")]) for s in ("off", "on")) < 0.9:
        cpu.append("- a server used less than 90 % of its core: the load, not the server, set its rate, "
                   "so the req/s ratio below says more about the load than about the exporters")
    out += cpu
pairs = [b / a for a, b in zip(vals[("off", "rps")], vals[("on", "rps")])]
out += ["", "ratio on / off (req/s medians): %.3f over %d interleaved pairs; per pair median %.3f "
        "(%.3f-%.3f); target >= 0.9" % (statistics.median(vals[("on", "rps")]) /
        statistics.median(vals[("off", "rps")]), len(pairs), statistics.median(pairs), min(pairs), max(pairs))]
print("\n".join(out))
with open(sys.argv[2], "w") as f:
    f.write("# Exporters on / off, hello route (%s)\n\n%s\n" % (time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), "\n".join(out)))
EOF
