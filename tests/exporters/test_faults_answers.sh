#!/usr/bin/env bash
# What the exporters make of a receiver's answer and of their own drops:
#  - a 2xx is success whatever its body: a 1.2 MB one (past what the sender
#    reads) is neither a failure nor resent, for each protocol (PROTOCOLS.md
#    sections 1-3), and an OTLP partial_success is still read from its start;
#  - an OTLP partial success rejecting nothing, with a message, is a warning:
#    the batch counts as sent, no error is set, one line for two batches;
#  - drops for a full queue are logged: one line at the first, not one per
#    drop (exporters/README, logging policy).
source "$(dirname "$0")/lib.sh"
export TYCHO_EXPORT_BACKOFF_MIN=100ms TYCHO_EXPORT_MAX_RETRIES=2
start_receiver R
OTLP=(env OTEL_EXPORTER_OTLP_ENDPOINT="http://127.0.0.1:$R_PORT" OTEL_BSP_SCHEDULE_DELAY=100)
LOKI=(env TYCHO_LOKI_URL="http://127.0.0.1:$R_PORT/loki/api/v1/push" TYCHO_LOKI_FLUSH_INTERVAL=0.1)
RW=(env TYCHO_REMOTE_WRITE_URL="http://127.0.0.1:$R_PORT/api/v1/write" TYCHO_REMOTE_WRITE_INTERVAL=0.3)
OK='{"status":200,"delay_ms":0,"retry_after":null,"fail_first":0,"fail_status":503,"body":"","body_b64":null}'

# mode_file FILE: sets the receiver's mode from a file (too long for an argument).
mode_file() {
    curl -sf -X POST --data-binary @"$1" "http://127.0.0.1:$R_PORT/__mode" >/dev/null ||
        fail "cannot set mode from $1"
}

round() { # NAME KIND DRIVER-COMMAND...: runs the driver; sets SUM and ST
    local name=$1 kind=$2
    shift 2
    "$@" >"$WORK/$name.out" 2>&1 || fail "$name: driver failed: $(tail -3 "$WORK/$name.out")"
    take_captured "$R_PORT" "$WORK/$name.json"
    SUM=$(summary "$WORK/$name.json" "$kind")
    ST=$(last_status "$WORK/$name.out")
    echo "  $name: $SUM"
}

# otlp_mode REJECTED MESSAGE [REPEAT]: a receiver mode (JSON) answering an
# ExportTraceServiceResponse whose message is MESSAGE repeated REPEAT times.
otlp_mode() {
    node -e '
const path = require("path");
const root = require(path.join(process.argv[1], "node_modules/@opentelemetry/otlp-transformer/build/src/generated/root.js"));
const R = root.opentelemetry.proto.collector.trace.v1.ExportTraceServiceResponse;
const ps = {rejectedSpans: Number(process.argv[2]), errorMessage: process.argv[3].repeat(Number(process.argv[4]))};
const b64 = Buffer.from(R.encode({partialSuccess: ps}).finish()).toString("base64");
console.log(JSON.stringify({status: 200, body: "", body_b64: b64}));' \
        "$EXP_DIR" "$1" "$2" "${3:-1}"
}

echo "--- a 200 with a 1.2 MB body: success, sent once (Loki, remote write, OTLP)"
reset_captured "$R_PORT"
node -e 'console.log(JSON.stringify({body: "x".repeat(1200000)}))' >"$WORK/big.json"
mode_file "$WORK/big.json"
round lokibig loki "${LOKI[@]}" "$DRIVER" logs 5 idle 3000 status shutdown 1000
[ "$(jsget "$SUM" 's.requests')" = 1 ] || fail "a 2xx with a big body was resent: $SUM"
[ "$(jsget "$ST" 's.exporters.logs.sent')" = 5 ] || fail "$ST"
[ "$(jsget "$ST" 's.exporters.logs.last_error')" = null ] || fail "$ST"
round rwbig prw "${RW[@]}" "$DRIVER" counter 3 sleep 1000 status shutdown 1000
[ "$(jsget "$SUM" 's.repeats')" = 0 ] || fail "a 2xx with a big body was resent: $SUM"
[ "$(jsget "$ST" 's.exporters.metrics.dropped')" = 0 ] || fail "$ST"
[ "$(jsget "$ST" 's.exporters.metrics.last_error')" = null ] || fail "$ST"
# an OTLP partial success whose message runs past what is read: its count holds
otlp_mode 3 m 1200000 >"$WORK/bigps.json"
mode_file "$WORK/bigps.json"
round otlpbig otlp "${OTLP[@]}" "$DRIVER" spans 10 idle 3000 status shutdown 1000
[ "$(jsget "$SUM" 's.requests')" = 1 ] || fail "a 2xx with a big body was resent: $SUM"
[ "$(jsget "$ST" 's.exporters.traces.sent')" = 7 ] || fail "$ST"
[ "$(jsget "$ST" 's.exporters.traces.dropped_by_reason.rejected')" = 3 ] || fail "$ST"
jsget "$ST" 's.exporters.traces.last_error' | grep -q '^partial success: 3 rejected: mmm' || fail "$ST"

echo "--- OTLP partial success rejecting nothing, with a message: a warning, logged once"
mode "$R_PORT" "$(otlp_mode 0 "attribute foo is deprecated")"
round otlpwarn otlp "${OTLP[@]}" "$DRIVER" spans 10 idle 3000 spans 10 idle 3000 status \
    shutdown 1000
[ "$(jsget "$SUM" 's.requests')" = 2 ] || fail "$SUM"
[ "$(jsget "$ST" 's.exporters.traces.sent')" = 20 ] || fail "$ST"
[ "$(jsget "$ST" 's.exporters.traces.dropped')" = 0 ] || fail "$ST"
[ "$(jsget "$ST" 's.exporters.traces.last_error')" = null ] || fail "a warning set last_error: $ST"
[ "$(jsget "$ST" 's.exporters.traces.failing')" = false ] || fail "$ST"
n=$(grep -c '"msg":"exporter: receiver warning".*"warning":"attribute foo is deprecated"' \
    "$WORK/otlpwarn.out" || true)
[ "$n" = 1 ] || fail "the warning was logged $n times: $(grep warning "$WORK/otlpwarn.out")"
! grep -q 'accepted part of a batch' "$WORK/otlpwarn.out" || fail "logged as a partial rejection"
mode "$R_PORT" "$OK"

echo "--- a full queue: one warning at the first drop, then the rest at shutdown, with the count"
TYCHO_LOKI_MAX_QUEUE=10 TYCHO_LOKI_URL="http://127.0.0.1:$(free_port)/loki/api/v1/push" \
    "$DRIVER" logs 100 sleep 200 logs 50 status shutdown 300 >"$WORK/full.out" 2>&1 ||
    fail "driver failed: $(tail -3 "$WORK/full.out")"
ST=$(last_status "$WORK/full.out")
[ "$(jsget "$ST" 's.exporters.logs.dropped_by_reason.queue_full')" = 140 ] || fail "$ST"
grep '"msg":"exporter dropping telemetry"' "$WORK/full.out" >"$WORK/full.lines" || true
# the first drop at once; the 139 the minute held back when the shutdown
# comes (no later minute will tell them)
[ "$(wc -l <"$WORK/full.lines")" = 2 ] || fail "expected two lines: $(cat "$WORK/full.lines")"
head -1 "$WORK/full.lines" | grep -q '"exporter":"logs","signal":"logs","reason":"queue_full","dropped":1,' ||
    fail "$(cat "$WORK/full.lines")"
tail -1 "$WORK/full.lines" | grep -q '"reason":"queue_full","dropped":139,"dropped_total":140' ||
    fail "the held-back drops were not told at shutdown: $(cat "$WORK/full.lines")"
echo "PASS"
