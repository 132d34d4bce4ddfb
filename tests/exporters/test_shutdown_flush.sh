#!/usr/bin/env bash
# The final flush of a real `tycho serve` at SIGTERM (exporters/README,
# "shutdown"; README, graceful shutdown):
#  - a batch waiting out a long retry delay is sent again at once when the
#    receiver is back (remote write's final snapshot and stale markers, Loki
#    lines): nothing is left unsent;
#  - the flush gets what the drain left of TYCHO_DRAIN_TIMEOUT (at least 1 s):
#    a 20 s receiver with TYCHO_DRAIN_TIMEOUT=1 holds the exit ~1 s, and one
#    that answers after 5 s with TYCHO_DRAIN_TIMEOUT=8 gets the batch;
#  - the exporters' final batches go side by side: a traces receiver that
#    answers after 10 s holds back only the spans (counted in the one
#    "unsent" line), not the metrics' and the logs' final batches.
source "$(dirname "$0")/lib.sh"
start_receiver R
OK='{"status":200,"delay_ms":0,"retry_after":null,"fail_first":0,"fail_status":503,"body":"","body_b64":null}'
LOKI_URL="http://127.0.0.1:$R_PORT/loki/api/v1/push"

# stop_serve: SIGTERM, then waits; sets ELAPSED_MS.
stop_serve() {
    local t0
    t0=$(date +%s%N)
    kill -TERM "$SERVE"
    wait "$SERVE" || fail "tycho exited $?: $(tail -3 "$WORK/serve.log")"
    ELAPSED_MS=$((($(date +%s%N) - t0) / 1000000))
}

echo "--- receiver failing, then back: the batches waiting a 10 s retry go at SIGTERM"
reset_captured "$R_PORT"
mode "$R_PORT" "${OK%\}},\"status\":503}"
TYCHO_EXPORT_BACKOFF_MIN=10s TYCHO_EXPORT_BACKOFF_MAX=30s TYCHO_LOKI_URL="$LOKI_URL" \
    TYCHO_LOKI_FLUSH_INTERVAL=0.2 TYCHO_REMOTE_WRITE_URL="http://127.0.0.1:$R_PORT/api/v1/write" \
    TYCHO_REMOTE_WRITE_INTERVAL=0.2 start_serve
for _ in $(seq 100); do
    captured "$R_PORT" "$WORK/failing.json"
    [ "$(jsget "$(cat "$WORK/failing.json")" 's.filter((r) => r.status === 503).length >= 2')" = true ] &&
        break
    sleep 0.05
done
mode "$R_PORT" "$OK"
stop_serve
echo "  shutdown took $ELAPSED_MS ms"
# under the 10 s retry delay with room for a loaded machine (ASan, -j2)
[ "$ELAPSED_MS" -lt 9000 ] || fail "the flush waited for the retry delay: $ELAPSED_MS ms"
! grep 'telemetry left unsent' "$WORK/serve.log" || fail "telemetry left unsent"
take_captured "$R_PORT" "$WORK/back.json"
node -e '
const reqs = JSON.parse(require("fs").readFileSync(process.argv[1]));
const {decodeRemoteWrite} = require(process.argv[2] + "/decoders.js");
const ok = (p) => reqs.filter((r) => r.path.startsWith(p) && r.status === 200);
if (!ok("/loki").length) throw new Error("no Loki push acknowledged");
// the stale markers (NaN 0x7ff0000000000002) of the final snapshot arrived
const stale = ok("/api/v1/write").some((r) => decodeRemoteWrite(Buffer.from(r.body, "base64"))
    .timeseries.some((t) => t.samples.some((s) => Number.isNaN(s.value))));
if (!stale) throw new Error("no stale markers acknowledged");' "$WORK/back.json" "$EXP_DIR" ||
    fail "what waited for a retry was not sent: $(summary "$WORK/back.json" loki)"

# slow_stop DELAY_MS DRAIN_S: a receiver answering after DELAY_MS, the
# server stopped with TYCHO_DRAIN_TIMEOUT=DRAIN_S; fails when the stop takes
# more than the drain timeout plus the flush's floor (1 s).
slow_stop() {
    reset_captured "$R_PORT"
    mode "$R_PORT" "${OK%\}},\"delay_ms\":$1}"
    TYCHO_DRAIN_TIMEOUT=$2 TYCHO_LOKI_URL="$LOKI_URL" TYCHO_LOKI_FLUSH_INTERVAL=60 start_serve
    stop_serve
    echo "  shutdown took $ELAPSED_MS ms"
    [ "$ELAPSED_MS" -lt $(($2 * 1000 + 1000)) ] ||
        fail "shutdown took $ELAPSED_MS ms with TYCHO_DRAIN_TIMEOUT=$2"
}

echo "--- a 20 s receiver, TYCHO_DRAIN_TIMEOUT=1: the exit waits ~1 s, not more"
slow_stop 20000 1
grep -q 'telemetry left unsent' "$WORK/serve.log" || fail "the cut flush was not reported"

echo "--- a receiver answering after 5 s, TYCHO_DRAIN_TIMEOUT=8: the batch is delivered"
slow_stop 5000 8
take_captured "$R_PORT" "$WORK/slow.json"
SUM=$(summary "$WORK/slow.json" loki)
echo "  $SUM"
[ "$(jsget "$SUM" 's.acked >= 1')" = true ] || fail "the 5 s answer was not awaited: $SUM"
jsget "$SUM" 's.distinct_acked' | grep -qv '^0$' || fail "$SUM"
mode "$R_PORT" "$OK"

echo "--- the traces receiver answers after 10 s, TYCHO_DRAIN_TIMEOUT=2: metrics and logs do not wait behind it"
# The three exporters send their final batches side by side on the telemetry
# loop: a slow receiver costs only its own signal's.
start_receiver T
mode "$T_PORT" "${OK%\}},\"delay_ms\":10000}"
reset_captured "$R_PORT"
OTEL_EXPORTER_OTLP_TRACES_ENDPOINT="http://127.0.0.1:$T_PORT/v1/traces" OTEL_BSP_SCHEDULE_DELAY=60000 \
    TYCHO_REMOTE_WRITE_URL="http://127.0.0.1:$R_PORT/api/v1/write" TYCHO_REMOTE_WRITE_INTERVAL=60 \
    TYCHO_LOKI_URL="$LOKI_URL" TYCHO_LOKI_FLUSH_INTERVAL=60 TYCHO_DRAIN_TIMEOUT=2 start_serve
for q in a b c; do curl -sf "http://$PUB/hello?q=$q" >/dev/null || fail "GET /hello failed"; done
stop_serve
echo "  shutdown took $ELAPSED_MS ms"
[ "$ELAPSED_MS" -lt 3000 ] || fail "shutdown took $ELAPSED_MS ms with TYCHO_DRAIN_TIMEOUT=2"
take_captured "$R_PORT" "$WORK/beside.json"
node -e '
const reqs = JSON.parse(require("fs").readFileSync(process.argv[1]));
const {decodeLoki, decodeRemoteWrite} = require(process.argv[2] + "/decoders.js");
const ok = (p) => reqs.filter((r) => r.path.startsWith(p) && r.status === 200 && !r.client_gone);
const body = (r) => Buffer.from(r.body, "base64");
// the final snapshot (its stale markers) and the log lines of the drain
const stale = ok("/api/v1/write").some((r) => decodeRemoteWrite(body(r))
    .timeseries.some((t) => t.samples.some((s) => Number.isNaN(s.value))));
if (!stale) throw new Error("the final metrics snapshot was not delivered");
const lines = ok("/loki").flatMap((r) => decodeLoki(body(r)).flatMap((s) => s.entries))
    .map((e) => e.line);
for (const want of ["\"q\":\"c\"", "shutting down"])
  if (!lines.some((l) => l.includes(want))) throw new Error("no log line with " + want);' \
    "$WORK/beside.json" "$EXP_DIR" ||
    fail "the final batches beside the slow one were lost: $(summary "$WORK/beside.json" loki)"
# the slow receiver's spans, and only they, are counted in the one line
UNSENT=$(grep 'telemetry left unsent' "$WORK/serve.log" || true)
[ "$(grep -c . <<<"$UNSENT")" = 1 ] || fail "want one 'left unsent' line: $UNSENT"
jsget "$UNSENT" 's.spans >= 3 && s.samples === 0 && s.log_lines === 0' | grep -qx true ||
    fail "the unsent count is not the slow signal's alone: $UNSENT"
echo "  $UNSENT"
echo "PASS"
