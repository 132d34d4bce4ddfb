#!/usr/bin/env bash
# Non-blocking proof: one tycho worker, 500 concurrent requests each waiting
# 200 ms on a loopback "slow AWS" endpoint (a second tycho, bench/nonblocking/slow/)
# through tycho.aws (and then tycho.http), while /health is measured on the
# same worker. If a binding blocked the loop, /health would queue behind the
# waits; it must not: its p99 stays under 2 ms.
# A script, not a timed test; loopback only, bounded in time.
#   bench/nonblocking.sh            (TYCHO_BIN: default build/tycho)
#   env: DURATION=10 CONNECTIONS=500 DELAY_MS=200 LIMIT_MS=2, SERVER_CPU=0
#        CLIENT_CPU=1 (taskset; NOPIN=1 to let the scheduler place them)
set -uo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
. "$ROOT/tests/lib/ports.sh"
TYCHO_BIN=${TYCHO_BIN:-$ROOT/build/tycho}
DURATION=${DURATION:-10}
CONNECTIONS=${CONNECTIONS:-500}
DELAY_MS=${DELAY_MS:-200}
LIMIT_MS=${LIMIT_MS:-2}
[ -x "$TYCHO_BIN" ] || { echo "no tycho binary at $TYCHO_BIN (build first, or set TYCHO_BIN)" >&2; exit 2; }
command -v wrk >/dev/null || { echo "wrk not found (scripts/setup installs it)" >&2; exit 2; }
ulimit -n 65536 2>/dev/null || ulimit -n 4096

# tycho under test alone on one core; the slow endpoint and wrk on the other
PIN_TYCHO="taskset -c ${SERVER_CPU:-0}"
PIN_SLOW="taskset -c ${CLIENT_CPU:-1}"
PIN_LOAD="taskset -c ${CLIENT_CPU:-1}"
if [ -n "${NOPIN:-}" ] || ! command -v taskset >/dev/null; then PIN_TYCHO= PIN_SLOW= PIN_LOAD=; fi
TMP=$(mktemp -d /tmp/tycho-nonblocking.XXXXXX)
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done; wait 2>/dev/null; rm -rf "$TMP"; }
trap cleanup EXIT

# the slow endpoint: another tycho whose one route sleeps DELAY_MS
SLOW_PORT=$(tycho_free_port)
SLOW_DELAY_MS=$DELAY_MS TYCHO_ACCESS_LOG=off TYCHO_LOG_LEVEL=warn TYCHO_DATA_DIR="$TMP/slow" \
    $PIN_SLOW "$TYCHO_BIN" serve --listen "127.0.0.1:$SLOW_PORT" --admin-listen 127.0.0.1:0 \
    --routes "$ROOT/bench/nonblocking/slow" --workers 1 --no-reload >"$TMP/slow.log" 2>&1 &
PIDS+=($!)
tycho_wait_port "$SLOW_PORT" 10 || { echo "slow endpoint did not start:" >&2; cat "$TMP/slow.log" >&2; exit 1; }

PORT=$(tycho_free_port)
ADMIN=$(tycho_free_port)
env -u AWS_PROFILE TYCHO_AWS_BACKEND=aws AWS_ENDPOINT_URL="http://127.0.0.1:$SLOW_PORT" \
    SLOW_URL="http://127.0.0.1:$SLOW_PORT" AWS_ACCESS_KEY_ID=AKIDEXAMPLE AWS_SECRET_ACCESS_KEY=bench \
    AWS_REGION=us-east-1 AWS_EC2_METADATA_DISABLED=true TYCHO_ACCESS_LOG=off TYCHO_LOG_LEVEL=warn \
    TYCHO_DATA_DIR="$TMP/data" $PIN_TYCHO "$TYCHO_BIN" serve --listen "127.0.0.1:$PORT" --admin-listen "127.0.0.1:$ADMIN" \
    --routes "$ROOT/bench/nonblocking" --workers 1 --no-reload >"$TMP/tycho.log" 2>&1 &
PIDS+=($!)
tycho_wait_ready "$ADMIN" 15 || { echo "tycho did not start:" >&2; cat "$TMP/tycho.log" >&2; exit 1; }
curl -sf "http://127.0.0.1:$PORT/slow-aws" >/dev/null || { echo "/slow-aws failed:" >&2; cat "$TMP/tycho.log" >&2; exit 1; }

# p50/p99 in ms from wrk --latency output
pct() { awk -v p="$2" '$1 == p { v = $2; u = v; sub(/[0-9.]+/, "", u); sub(/[a-z]+$/, "", v);
        if (u == "us") v /= 1000; else if (u == "s") v *= 1000; printf "%.3f", v }' "$1"; }
rps() { awk '/Requests\/sec/ { print $2 }' "$1"; }

health() { # output file: /health alone, 1 connection, a request at a time
    $PIN_LOAD wrk -t1 -c1 -d"$((DURATION - 2))s" --latency "http://127.0.0.1:$PORT/health" >"$1"
}

echo "tycho nonblocking bench: 1 worker, $CONNECTIONS connections waiting ${DELAY_MS} ms each, ${DURATION} s"
echo "machine: $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg) (other processes skew p99)"
health "$TMP/idle.txt"
fail=0
printf '\n| load on the same worker | /health p50 (ms) | /health p99 (ms) | slow requests/s | slow p50 (ms) | slow p99 (ms) |\n'
printf '| --- | --- | --- | --- | --- | --- |\n'
printf '| none | %s | %s | - | - | - |\n' "$(pct "$TMP/idle.txt" 50%)" "$(pct "$TMP/idle.txt" 99%)"
for path in slow-aws slow-http; do
    $PIN_LOAD wrk -t1 -c"$CONNECTIONS" -d"${DURATION}s" --timeout 10s --latency "http://127.0.0.1:$PORT/$path" >"$TMP/$path.txt" &
    load=$!
    sleep 1
    health "$TMP/h-$path.txt"
    wait "$load"
    p99=$(pct "$TMP/h-$path.txt" 99%)
    printf '| %s x %d (tycho.%s) | %s | %s | %s | %s | %s |\n' "/$path" "$CONNECTIONS" "${path#slow-}" \
        "$(pct "$TMP/h-$path.txt" 50%)" "$p99" "$(rps "$TMP/$path.txt")" \
        "$(pct "$TMP/$path.txt" 50%)" "$(pct "$TMP/$path.txt" 99%)"
    grep -q "Non-2xx" "$TMP/$path.txt" && { echo "  /$path: non-2xx answers:"; grep -E "Non-2xx|Socket errors" "$TMP/$path.txt"; fail=1; }
    awk -v p="$p99" -v l="$LIMIT_MS" 'BEGIN { exit !(p < l) }' || fail=1
done
idle99=$(pct "$TMP/idle.txt" 99%)
echo
for path in slow-aws slow-http; do
    awk -v a="$(pct "$TMP/h-$path.txt" 50%)" -v b="$(pct "$TMP/idle.txt" 50%)" -v c="$(pct "$TMP/h-$path.txt" 99%)" -v d="$idle99" -v p="$path" \
        'BEGIN { printf "/health under /%s: p50 %+.3f ms, p99 %+.3f ms against no load\n", p, a - b, c - d }'
done
expected=$(awk -v c="$CONNECTIONS" -v d="$DELAY_MS" 'BEGIN { printf "%d", c * 1000 / d }')
echo
echo "(a fully concurrent server answers about $expected slow requests/s: $CONNECTIONS connections / ${DELAY_MS} ms)"
if [ "$fail" = 0 ]; then
    echo "PASS: /health p99 stayed under ${LIMIT_MS} ms with $CONNECTIONS requests waiting on the same worker"
else
    echo "FAIL: /health p99 reached ${LIMIT_MS} ms or more (or slow requests failed)"
fi
exit "$fail"
