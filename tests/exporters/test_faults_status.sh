#!/usr/bin/env bash
# Receiver answering errors, per each protocol's retry rules (PROTOCOLS.md
# sections 1-3): OTLP drops a 500 but retries a 503; Loki and remote write
# retry 500s; a 429's Retry-After is honoured; a 400 is dropped and the next
# batch still goes; a receiver slower (10 s) than the request timeout is
# retried without blocking the loop, and once it is fast again everything
# arrives, once per acknowledged request.
source "$(dirname "$0")/lib.sh"
export TYCHO_EXPORT_BACKOFF_MIN=100ms TYCHO_EXPORT_BACKOFF_MAX=400ms TYCHO_EXPORT_MAX_RETRIES=20
start_receiver R
OTLP=(env OTEL_EXPORTER_OTLP_ENDPOINT="http://127.0.0.1:$R_PORT" OTEL_BSP_SCHEDULE_DELAY=100)
LOKI=(env TYCHO_LOKI_URL="http://127.0.0.1:$R_PORT/loki/api/v1/push" TYCHO_LOKI_FLUSH_INTERVAL=0.1)
RW=(env TYCHO_REMOTE_WRITE_URL="http://127.0.0.1:$R_PORT/api/v1/write" TYCHO_REMOTE_WRITE_INTERVAL=0.3)

round() { # NAME MODE-JSON KIND DRIVER-COMMAND...
    local name=$1 m=$2 kind=$3
    shift 3
    reset_captured "$R_PORT"
    mode "$R_PORT" "$m"
    "$@" >"$WORK/$name.out" 2>&1 || fail "$name: driver failed: $(tail -3 "$WORK/$name.out")"
    captured "$R_PORT" "$WORK/$name.json"
    SUM=$(summary "$WORK/$name.json" "$kind")
    ST=$(last_status "$WORK/$name.out")
    echo "  $name: $SUM"
}
OK='{"status":200,"delay_ms":0,"retry_after":null,"fail_first":0,"fail_status":503,"body":"","body_b64":null}'

echo "--- OTLP 500: not retryable, dropped as rejected"
round otlp500 '{"status":500}' otlp "${OTLP[@]}" "$DRIVER" spans 10 idle 3000 status shutdown 1000
[ "$(jsget "$SUM" 's.requests')" = 1 ] || fail "a 500 was retried"
[ "$(jsget "$ST" 's.exporters.traces.dropped_by_reason.rejected')" = 10 ] || fail "$ST"

echo "--- OTLP 503 twice, then 200: retried, delivered once"
round otlp503 "${OK%\}},\"fail_first\":2,\"fail_status\":503}" otlp \
    "${OTLP[@]}" "$DRIVER" spans 10 idle 5000 status shutdown 1000
[ "$(jsget "$SUM" 'JSON.stringify(s.statuses)')" = '[503,503,200]' ] || fail "$SUM"
[ "$(jsget "$SUM" 's.distinct_acked')" = 10 ] || fail "$SUM"
[ "$(jsget "$ST" 's.exporters.traces.sent')" = 10 ] || fail "$ST"
[ "$(jsget "$ST" 's.exporters.traces.retries')" = 2 ] || fail "$ST"

echo "--- OTLP 200 with partial_success: the rejected spans are counted, not retried"
ps=$(node -e '
const path = require("path");
const root = require(path.join(process.argv[1], "node_modules/@opentelemetry/otlp-transformer/build/src/generated/root.js"));
const R = root.opentelemetry.proto.collector.trace.v1.ExportTraceServiceResponse;
console.log(Buffer.from(R.encode({partialSuccess: {rejectedSpans: 3, errorMessage: "too old"}}).finish()).toString("base64"));' "$EXP_DIR")
round otlpps "{\"status\":200,\"body_b64\":\"$ps\"}" otlp "${OTLP[@]}" "$DRIVER" spans 10 idle 3000 status \
    shutdown 1000
[ "$(jsget "$SUM" 's.requests')" = 1 ] || fail "a partial success was retried"
[ "$(jsget "$ST" 's.exporters.traces.sent')" = 7 ] || fail "$ST"
[ "$(jsget "$ST" 's.exporters.traces.dropped_by_reason.rejected')" = 3 ] || fail "$ST"
jsget "$ST" 's.exporters.traces.last_error' | grep -q 'partial success: 3 rejected: too old' || fail "$ST"
mode "$R_PORT" "$OK"

echo "--- Loki 500 twice: retried, delivered"
round loki500 "${OK%\}},\"fail_first\":2,\"fail_status\":500}" loki \
    "${LOKI[@]}" "$DRIVER" logs 15 idle 5000 status shutdown 1000
[ "$(jsget "$SUM" 'JSON.stringify(s.statuses)')" = '[500,500,200]' ] || fail "$SUM"
[ "$(jsget "$SUM" 's.distinct_acked')" = 15 ] || fail "$SUM"

echo "--- remote write 500 twice: retried, samples in order"
round rw500 "${OK%\}},\"fail_first\":2,\"fail_status\":500}" prw \
    "${RW[@]}" "$DRIVER" counter 3 sleep 1500 status shutdown 1000
[ "$(jsget "$SUM" 's.statuses.slice(0, 3).join()')" = '500,500,200' ] || fail "$SUM"
[ "$(jsget "$SUM" 's.dups_acked')" = 0 ] || fail "$SUM"
[ "$(jsget "$ST" 's.exporters.metrics.dropped')" = 0 ] || fail "$ST"
node -e '
const reqs = JSON.parse(require("fs").readFileSync(process.argv[1]));
const {decodeRemoteWrite} = require(process.argv[2] + "/decoders.js");
let last = 0n;
for (const r of reqs.filter((r) => r.status === 200)) {
  const wr = decodeRemoteWrite(Buffer.from(r.body, "base64"));
  const ts = BigInt(wr.timeseries[0].samples[0].timestamp);
  if (ts <= last) throw new Error("acknowledged samples out of order");
  last = ts;
  for (const t of wr.timeseries) {
    const names = t.labels.map((l) => l.name);
    const sorted = [...names].sort((a, b) => (Buffer.from(a) < Buffer.from(b) ? -1 : 1));
    if (names.join() !== sorted.join()) throw new Error("labels not sorted: " + names);
  }
}' "$WORK/rw500.json" "$EXP_DIR" || fail "remote write order"

echo "--- Loki 429 with Retry-After: 2 -> the retry waits 2 s (backoff alone: 0.1 s)"
round loki429 "${OK%\}},\"fail_first\":1,\"fail_status\":429,\"retry_after\":2}" loki \
    "${LOKI[@]}" "$DRIVER" logs 5 idle 8000 status shutdown 1000
[ "$(jsget "$SUM" 'JSON.stringify(s.statuses)')" = '[429,200]' ] || fail "$SUM"
gap=$(jsget "$SUM" 's.gaps_ms[0]')
[ "$gap" -ge 1900 ] && [ "$gap" -le 4000 ] || fail "retry after ${gap} ms, expected ~2000"

echo "--- OTLP 429 with an HTTP-date Retry-After"
when=$(node -e 'console.log(new Date(Date.now() + 3000).toUTCString())')
round otlp429 "${OK%\}},\"fail_first\":1,\"fail_status\":429,\"retry_after\":\"$when\"}" otlp \
    "${OTLP[@]}" "$DRIVER" spans 3 idle 8000 status shutdown 1000
[ "$(jsget "$SUM" 'JSON.stringify(s.statuses)')" = '[429,200]' ] || fail "$SUM"
gap=$(jsget "$SUM" 's.gaps_ms[0]')
[ "$gap" -ge 1000 ] || fail "retry after ${gap} ms, expected the date (2-3 s)"

echo "--- Loki 400: dropped, not retried, the next batch still goes"
reset_captured "$R_PORT"
mode "$R_PORT" '{"status":400,"body":"entry for stream has timestamp too old"}'
"${LOKI[@]}" "$DRIVER" logs 5 idle 3000 mark sent-400 sleep 1000 logs 7 idle 5000 status \
    shutdown 1000 >"$WORK/l400.out" 2>&1 &
DRV=$!
PIDS+=("$DRV")
wait_lines "$WORK/l400.out" '^MARK sent-400' 1
mode "$R_PORT" "$OK"
wait "$DRV" || fail "driver failed"
captured "$R_PORT" "$WORK/l400.json"
SUM=$(summary "$WORK/l400.json" loki)
echo "  loki400: $SUM"
[ "$(jsget "$SUM" 'JSON.stringify(s.statuses)')" = '[400,200]' ] || fail "$SUM"
[ "$(jsget "$SUM" 's.distinct_acked')" = 7 ] || fail "$SUM"
ST=$(last_status "$WORK/l400.out")
[ "$(jsget "$ST" 's.exporters.logs.dropped_by_reason.rejected')" = 5 ] || fail "$ST"
jsget "$ST" 's.exporters.logs.last_error' | grep -q 'HTTP 400: entry for stream has timestamp too old' ||
    fail "the body of a 400 is not reported: $ST"
grep -q '"msg":"exporter dropped a batch the receiver rejected"' "$WORK/l400.out" || fail "not logged"

echo "--- slow receiver (10 s) vs a 1.5 s timeout: retried, loop not blocked, then delivered"
reset_captured "$R_PORT"
mode "$R_PORT" '{"status":200,"delay_ms":10000}'
t0=$(date +%s%N)
TYCHO_LOKI_TIMEOUT=1.5 "${LOKI[@]}" "$DRIVER" logs 20 sleep 4000 status mark slow-seen \
    sleep 500 idle 20000 status shutdown 1000 >"$WORK/slow.out" 2>&1 &
DRV=$!
PIDS+=("$DRV")
wait_lines "$WORK/slow.out" '^MARK slow-seen' 1
t1=$(date +%s%N)
el=$(((t1 - t0) / 1000000))
[ "$el" -lt 7000 ] || fail "the driver's 4 s sleep took $el ms: the loop was blocked"
st=$(nth_status "$WORK/slow.out" 1)
echo "  while slow: $st"
jsget "$st" 's.exporters.logs.last_error' | grep -qi 'timeout\|timed out' || fail "no timeout: $st"
[ "$(jsget "$st" 's.exporters.logs.in_flight')" = 20 ] || fail "$st"
mode "$R_PORT" "$OK"
wait "$DRV" || fail "driver failed"
captured "$R_PORT" "$WORK/slow.json"
SUM=$(summary "$WORK/slow.json" loki)
echo "  slow: $SUM"
[ "$(jsget "$SUM" 's.distinct_acked')" = 20 ] || fail "$SUM"
[ "$(jsget "$SUM" 's.dups_acked')" = 0 ] || fail "$SUM"
[ "$(jsget "$SUM" 's.statuses.filter((x) => x === "gone").length >= 2')" = true ] || fail "$SUM"
echo "PASS"
