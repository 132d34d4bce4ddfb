#!/usr/bin/env bash
# Receiver down, then back: the queues hold at their bounds (count and the
# shared byte budget), overflow is dropped and counted by reason, and once
# the receiver listens again what was queued arrives, each item once. Also
# the final flush against a dead receiver: bounded by its deadline, the rest
# counted as "shutdown" and reported in one log line.
source "$(dirname "$0")/lib.sh"
export TYCHO_EXPORT_BACKOFF_MIN=100ms TYCHO_EXPORT_BACKOFF_MAX=400ms TYCHO_EXPORT_MAX_RETRIES=1000

echo "--- traces: receiver down, queue bound OTEL_BSP_MAX_QUEUE_SIZE, then recovery"
P=$(free_port)
OTEL_EXPORTER_OTLP_ENDPOINT="http://127.0.0.1:$P" OTEL_BSP_SCHEDULE_DELAY=200 \
OTEL_BSP_MAX_QUEUE_SIZE=500 OTEL_BSP_MAX_EXPORT_BATCH_SIZE=200 OTEL_BSP_EXPORT_TIMEOUT=60000 \
    "$DRIVER" spans 200 sleep 1000 status spans 1000 sleep 500 status sleep 1500 \
    idle 20000 status shutdown 2000 >"$WORK/t.out" 2>&1 &
DRV=$!
PIDS+=("$DRV")
wait_lines "$WORK/t.out" '^STATUS ' 2
st=$(nth_status "$WORK/t.out" 2)
echo "  while down: $st"
[ "$(jsget "$st" 's.exporters.traces.in_flight')" = 200 ] || fail "in flight: $st"
[ "$(jsget "$st" 's.exporters.traces.queued')" = 500 ] || fail "queued: $st"
[ "$(jsget "$st" 's.exporters.traces.dropped_by_reason.queue_full')" = 500 ] || fail "drops: $st"
[ "$(jsget "$st" 's.exporters.traces.failing')" = true ] || fail "not failing: $st"
[ "$(jsget "$st" 's.exporters.traces.requests >= 2')" = true ] || fail "no retries: $st"
start_receiver R "$P"
wait "$DRV" || fail "driver failed: $(cat "$WORK/t.out")"
captured "$P" "$WORK/t.json"
sum=$(summary "$WORK/t.json" otlp)
echo "  after recovery: $sum"
[ "$(jsget "$sum" 's.distinct_acked')" = 700 ] || fail "expected the 700 queued spans: $sum"
[ "$(jsget "$sum" 's.dups_acked')" = 0 ] || fail "duplicates: $sum"
st=$(last_status "$WORK/t.out")
[ "$(jsget "$st" 's.exporters.traces.sent')" = 700 ] || fail "sent: $st"
[ "$(jsget "$st" 's.exporters.traces.dropped')" = 500 ] || fail "dropped: $st"
[ "$(jsget "$st" 's.exporters.traces.failing')" = false ] || fail "still failing: $st"
grep -q '"msg":"exporter recovered"' "$WORK/t.out" || fail "no recovery line"
n=$(grep -c '"msg":"exporter failing, retrying"' "$WORK/t.out" || true)
[ "$n" = 1 ] || fail "the failure was logged $n times (expected once per outage)"
stop_pid "$R_PID"

echo "--- logs: the byte budget TYCHO_TELEMETRY_MAX_BYTES holds, then recovery"
P=$(free_port)
TYCHO_TELEMETRY_MAX_BYTES=64KiB TYCHO_LOKI_URL="http://127.0.0.1:$P/loki/api/v1/push" \
TYCHO_LOKI_FLUSH_INTERVAL=0.2 TYCHO_LOKI_MAX_QUEUE=100000 \
    "$DRIVER" logs 3000 sleep 800 status logs 500 status sleep 1000 idle 20000 status \
    shutdown 2000 >"$WORK/l.out" 2>&1 &
DRV=$!
PIDS+=("$DRV")
wait_lines "$WORK/l.out" '^STATUS ' 2
for k in 1 2; do
    st=$(nth_status "$WORK/l.out" $k)
    echo "  while down ($k): $st"
    [ "$(jsget "$st" 's.exporters.queued_bytes <= s.exporters.max_bytes')" = true ] ||
        fail "byte budget exceeded: $st"
    [ "$(jsget "$st" 's.exporters.max_bytes')" = 65536 ] || fail "max_bytes: $st"
done
st=$(nth_status "$WORK/l.out" 2)
dropped=$(jsget "$st" 's.exporters.logs.dropped_by_reason.queue_full')
[ "$dropped" -ge 3000 ] || fail "expected most of 3500 lines dropped for the budget: $st"
start_receiver R "$P"
wait "$DRV" || fail "driver failed: $(tail -5 "$WORK/l.out")"
captured "$P" "$WORK/l.json"
sum=$(summary "$WORK/l.json" loki)
echo "  after recovery: $sum"
[ "$(jsget "$sum" 's.distinct_acked')" = $((3500 - dropped)) ] || fail "queued lines lost: $sum"
[ "$(jsget "$sum" 's.dups_acked')" = 0 ] || fail "duplicates: $sum"
stop_pid "$R_PID"

echo "--- shutdown with the receiver down: bounded, counted, one line"
P=$(free_port)
OTEL_EXPORTER_OTLP_ENDPOINT="http://127.0.0.1:$P" OTEL_BSP_SCHEDULE_DELAY=100 \
OTEL_BSP_EXPORT_TIMEOUT=60000 TYCHO_LOKI_URL="http://127.0.0.1:$P/loki/api/v1/push" \
    "$DRIVER" spans 50 logs 30 sleep 300 shutdown 1000 >"$WORK/s.out" 2>&1 ||
    fail "driver failed: $(cat "$WORK/s.out")"
ms=$(sed -n 's/^SHUTDOWN //p' "$WORK/s.out")
[ "$ms" -le 2000 ] || fail "shutdown took $ms ms with a 1000 ms deadline"
st=$(last_status "$WORK/s.out")
echo "  $st"
[ "$(jsget "$st" 's.exporters.traces.dropped_by_reason.shutdown')" = 50 ] || fail "spans: $st"
[ "$(jsget "$st" 's.exporters.logs.dropped_by_reason.shutdown')" = 30 ] || fail "lines: $st"
n=$(grep -c 'telemetry left unsent at shutdown' "$WORK/s.out" || true)
[ "$n" = 1 ] || fail "unsent telemetry reported $n times"
grep 'telemetry left unsent at shutdown' "$WORK/s.out" | grep -q '"spans":50,"samples":0,"log_lines":30' ||
    fail "report: $(grep 'left unsent' "$WORK/s.out")"
echo "PASS"
