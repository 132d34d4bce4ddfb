#!/usr/bin/env bash
# A soak of the reference app with everything on: what grows in a tycho that
# runs for a long time. A script, not a timed test.
#
# The server starts as scripts/run starts it (routes/, the embedded local AWS
# backend, OTEL_SERVICE_NAME=tycho), on a copy of routes/ and a data dir of
# its own, on free loopback ports, with the three exporters on against real
# receivers: remote write into Debian's prometheus (remote-write receiver),
# OTLP traces and Loki pushes into bench/sink (reads each body, answers 200),
# the workflow's SQS consumer on, the sample log timer every second and some
# simulated work on GET / and /test-telemetry (the slow routes). wrk
# (bench/soak_app.lua) offers a paced mix of the app's requests — /, /health,
# ?deep=1, /save-data with valid and invalid bodies, /workflow GET and POST,
# /test-telemetry (its 10 % simulated errors), /send-message, a 1 s long
# poll of /receive-messages,
# /get-data/:id found and not, /openapi.json, unknown paths, a method no
# route has — at RATE requests/s, well under what the server takes, so both
# cores keep headroom. Meanwhile:
#   - a reload every RELOAD_EVERY seconds, by turns a touched route file (the
#     watcher) and POST /-/reload on the admin listener;
#   - every OUTAGE_EVERY seconds the OTLP/Loki receiver is stopped for
#     OUTAGE_SECONDS and started again on its port (the exporters retry,
#     then drop and count);
#   - every SAMPLE_INTERVAL seconds a row of bench/lib/soak_sample.py:
#     RSS, fds, threads, CPU, Lua heap, telemetry queues and drops, SQS
#     depths, consumer counts, DynamoDB items put, data dir size.
# At the end bench/lib/soak_report.py prints the summary (also in
# $RESULTS/raw/soak_app/summary.txt, with the rows, wrk's output and the
# server's non-info log lines) and the exit status: 1 when RSS grows after
# the warm-up faster than RSS_SLOPE_MAX_KB_MIN, when fds or threads keep
# rising, when the CPU time per request grows (CPU_GROWTH_MAX) or the SQS
# queue backs up (SQS_SLACK), on a status a route should not answer, a
# socket error, or when the server died.
#
#   bench/soak_app.sh                      # SOAK_SECONDS=900 RATE=150
#   SOAK_SECONDS=3600 RATE=200 bench/soak_app.sh
#   TYCHO_BIN=build/tycho (default; a Release build works too)
#   WARMUP (default a fifth of the run, at least 60 s), CONNECTIONS (20: idle ones take the send slots),
#   RELOAD_EVERY (30), OUTAGE_EVERY (120), OUTAGE_SECONDS (20), SAMPLE_INTERVAL (10),
#   SIMULATED_WORK_MS (20-200), RSS_SLOPE_MAX_KB_MIN (64), FD_SLACK (8), THREAD_SLACK (2),
#   CPU_GROWTH_MAX (1.5), SQS_SLACK (100): bench/lib/soak_report.py
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BENCH=$ROOT/bench
cd "$ROOT"
SOAK_SECONDS=${SOAK_SECONDS:-900}
WARMUP=${WARMUP:-$((SOAK_SECONDS / 5 > 60 ? SOAK_SECONDS / 5 : 60))}
RATE=${RATE:-150}
CONNECTIONS=${CONNECTIONS:-20}
RELOAD_EVERY=${RELOAD_EVERY:-30}
OUTAGE_EVERY=${OUTAGE_EVERY:-120}
OUTAGE_SECONDS=${OUTAGE_SECONDS:-20}
SAMPLE_INTERVAL=${SAMPLE_INTERVAL:-10}
BIN=${TYCHO_BIN:-build/tycho}
RESULTS=${RESULTS:-$BENCH/results}
# shellcheck source=bench/lib/common.sh
. "$BENCH/lib/common.sh"

need_cmds wrk curl cc prometheus "$PY"
[ -x "$BIN" ] || die "no tycho binary at $BIN (scripts/build)"
((SOAK_SECONDS > WARMUP + 6 * SAMPLE_INTERVAL)) ||
  die "SOAK_SECONDS=$SOAK_SECONDS leaves too few samples after WARMUP=$WARMUP"
bench_workdir soak_app
rm -f "$RAW"/*

# --- receivers ------------------------------------------------------------------
PROM_PORT=$(free_port)
mkdir -p "$WORK/prom"
printf 'global:\n  scrape_interval: 1h\n  evaluation_interval: 1h\n' >"$WORK/prom/prometheus.yml"
spawn "$RAW/prometheus.log" prometheus --config.file="$WORK/prom/prometheus.yml" \
  --storage.tsdb.path="$WORK/prom/data" --web.listen-address="127.0.0.1:$PROM_PORT" \
  --web.enable-remote-write-receiver --log.level=warn
wait_http "http://127.0.0.1:$PROM_PORT/-/ready" 30 || die "prometheus: $(tail -3 "$RAW/prometheus.log")"

cc -O2 -Wall -Wextra -Werror -o "$WORK/sink" "$BENCH/sink/sink.c" || die "sink.c did not build"
SINK_PORT=$(free_port)
SINK_PID=""
: >"$RAW/receiver.counts"
start_sink() { # on SINK_PORT, the same port every time (the exporters keep their URL)
  spawn "$WORK/sink.out" "$WORK/sink" "$SINK_PORT"
  SINK_PID=$SPAWNED
  for _ in $(seq 100); do grep -q '^PORT ' "$WORK/sink.out" && return 0; sleep 0.05; done
  die "sink: $(cat "$WORK/sink.out")"
}
stop_sink() { # its counts of this life go to receiver.counts
  stop_pid "$SINK_PID"
  printf '%s (up to t=%ds)\n' "$(grep '^requests' "$WORK/sink.out" || echo 'no counts')" \
    "$((SECONDS - T0))" >>"$RAW/receiver.counts"
  SINK_PID=""
}

# --- the app ----------------------------------------------------------------------
cp -a routes "$WORK/routes"
PORT=$(free_port)
APORT=$(free_port)
APP=http://127.0.0.1:$PORT
ADMIN=http://127.0.0.1:$APORT
T0=$SECONDS
start_sink
# Info lines (the access log, most of it) are not kept: at this rate they
# would fill gigabytes; the rest go to server.log for the summary.
spawn >(grep --line-buffered -v '"level":"info"' >"$RAW/server.log") \
  env OTEL_SERVICE_NAME=tycho \
  OTEL_EXPORTER_OTLP_ENDPOINT="http://127.0.0.1:$SINK_PORT" \
  TYCHO_LOKI_URL="http://127.0.0.1:$SINK_PORT/loki/api/v1/push" \
  TYCHO_REMOTE_WRITE_URL="http://127.0.0.1:$PROM_PORT/api/v1/write" \
  SIMULATED_WORK_MS="${SIMULATED_WORK_MS:-20-200}" SAMPLE_LOG_INTERVAL=1 \
  "$BIN" serve --routes "$WORK/routes" --data-dir "$WORK/data" \
  --listen "127.0.0.1:$PORT" --admin-listen "127.0.0.1:$APORT"
TYCHO_PID=$SPAWNED
wait_http "$ADMIN/-/ready" 60 || die "tycho did not come up: $(tail -3 "$RAW/server.log")"
# the item GET /get-data/:id finds
GET_ID=$(curl -sf -X POST -d '{"user_id":"soak"}' "$APP/save-data" |
  "$PY" -c 'import json, sys; print(json.load(sys.stdin)["id"])') || die "POST /save-data failed"
log "tycho pid $TYCHO_PID on $APP (admin $ADMIN), receivers: prometheus :$PROM_PORT, sink :$SINK_PORT"

# --- load, sampler, events -----------------------------------------------------------
spawn "$RAW/sampler.err" "$PY" "$BENCH/lib/soak_sample.py" "$TYCHO_PID" "$ADMIN" "$WORK/data" \
  "$RAW/rows.tsv" "$SAMPLE_INTERVAL" "$WORK/stop"
SAMPLER_PID=$SPAWNED
spawn "$RAW/wrk.out" env SOAK_RATE="$RATE" SOAK_GET_ID="$GET_ID" \
  wrk -t1 -c"$CONNECTIONS" -d"${SOAK_SECONDS}s" --timeout 10s -s "$BENCH/soak_app.lua" "$APP"
WRK_PID=$SPAWNED
log "soak: ${SOAK_SECONDS}s at about $RATE req/s ($CONNECTIONS connections), warm-up ${WARMUP}s"

died=0 reloads=0 next_reload=$RELOAD_EVERY next_outage=$((OUTAGE_EVERY / 2)) outage_end=0
while kill -0 "$WRK_PID" 2>/dev/null; do
  sleep 1
  t=$((SECONDS - T0))
  if ! kill -0 "$TYCHO_PID" 2>/dev/null; then
    log "tycho exited at t=${t}s"
    died=1
    break
  fi
  if ((t >= next_reload)); then
    reloads=$((reloads + 1))
    if ((reloads % 2)); then
      touch "$WORK/routes/index.lua"
    else
      curl -sf -m 30 -X POST -o /dev/null "$ADMIN/-/reload" || log "POST /-/reload failed at t=${t}s"
    fi
    next_reload=$((next_reload + RELOAD_EVERY))
  fi
  if [ -n "$SINK_PID" ] && ((t >= next_outage)); then
    log "receiver down for ${OUTAGE_SECONDS}s (t=${t}s)"
    stop_sink
    outage_end=$((t + OUTAGE_SECONDS))
    next_outage=$((next_outage + OUTAGE_EVERY))
  elif [ -z "$SINK_PID" ] && ((t >= outage_end)); then
    start_sink
  fi
done
((died == 0)) || stop_pid "$WRK_PID" INT # wrk still prints its summary
wait "$WRK_PID" 2>/dev/null || true
touch "$WORK/stop"
wait "$SAMPLER_PID" 2>/dev/null || true
if ((died == 0)); then
  curl -sf -m 10 "$ADMIN/metrics" >"$RAW/metrics.txt" || die "the final scrape failed"
  curl -sf -m 10 "$ADMIN/-/status" >"$RAW/status.json" || true
else
  # the row that tells the report (unless the sampler wrote it already)
  [ "$(tail -1 "$RAW/rows.tsv" | cut -f2)" = 0 ] || printf '%s\t0\n' "$((SECONDS - T0))" >>"$RAW/rows.tsv"
  : >"$RAW/metrics.txt"
fi
[ -n "$SINK_PID" ] && stop_sink
stop_pid "$TYCHO_PID"
rc=0
"$PY" "$BENCH/lib/soak_report.py" "$RAW/rows.tsv" "$RAW/metrics.txt" "$RAW/wrk.out" \
  "$RAW/receiver.counts" "$RAW/server.log" "$WARMUP" "$CONNECTIONS" | tee "$RAW/summary.txt" || rc=1
log "rows, summary, wrk output and the server's non-info lines: $RAW/"
exit "$rc"
