#!/usr/bin/env bash
# When whoever reads tycho's stdout goes away (a log shipper died, `| head`),
# requests keep being served, the log sink does not spin on the broken pipe,
# and SIGTERM still stops the process promptly with exit 0.
set -euo pipefail
: "${TYCHO_BIN:?}" "${TYCHO_SRC:?}"
work=$(mktemp -d)
pid=""
cleanup() { [ -n "$pid" ] && kill -9 "$pid" 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT
fail() { echo "FAIL: $*"; exit 1; }

mkfifo "$work/out"
"$TYCHO_BIN" serve --routes "$TYCHO_SRC/routes" --listen 127.0.0.1:0 --admin-listen 127.0.0.1:0 \
  --workers 1 --data-dir "$work/data" > "$work/out" 2> "$work/err" &
pid=$!
exec 3< "$work/out"
read -r first <&3                 # the "listening" line, then the reader goes away
exec 3<&-
pub=$(grep -o '"public":"[^"]*"' <<<"$first" | cut -d'"' -f4)
[ -n "$pub" ] || fail "no listening line: $first"
for _ in $(seq 50); do
  curl -sf -m 2 "http://$pub/health" > /dev/null || fail "a request failed after stdout closed"
done
# /-/status counts every dropped log line, whatever the reason (here
# write_error), as /metrics does
admin=$(grep -o '"admin":"[^"]*"' <<<"$first" | cut -d'"' -f4)
metric=$(curl -sf -m 2 "http://$admin/metrics" \
  | awk '/^tycho_telemetry_dropped_total\{.*signal="logs"/ { n += $NF } END { print n + 0 }')
status=$(curl -sf -m 2 "http://$admin/-/status" | grep -o '"logs_dropped":[0-9]*' | cut -d: -f2)
[ "$metric" -gt 0 ] || fail "no logs counted as dropped in /metrics with stdout closed"
[ "${status:-0}" -ge "$metric" ] \
  || fail "/-/status logs_dropped=$status, /metrics counts $metric dropped log lines"
sleep 1.5
ticks0=$(awk '{print $14 + $15}' "/proc/$pid/stat")
sleep 2
ticks1=$(awk '{print $14 + $15}' "/proc/$pid/stat")
cpu=$((ticks1 - ticks0))        # clock ticks (1/100 s) over 2 s
[ "$cpu" -lt 40 ] || fail "tycho used ${cpu}0 ms of CPU in 2 s of idling with stdout closed"
kill -TERM "$pid"
for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.05; done
kill -0 "$pid" 2>/dev/null && fail "still running 5 s after SIGTERM"
wait "$pid" && rc=0 || rc=$?
pid=""
[ "$rc" = 0 ] || fail "exit code $rc after SIGTERM"
echo "ok: served with stdout closed, idle CPU ${cpu}0 ms/2 s, clean exit on SIGTERM"
