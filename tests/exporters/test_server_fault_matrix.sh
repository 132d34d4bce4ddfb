#!/usr/bin/env bash
# The exporters inside a real `tycho serve` (traces, metrics and logs, each to
# its own loopback receiver) while wrk loads the public port, one receiver
# fault after another: down (connection refused), slow (10 s, past the 1 s
# request timeout), 500, 503, 429 with Retry-After, 400. For each fault:
# wrk sees no socket error and no non-2xx, RSS and the byte budget hold, the
# counters of /-/status move as each protocol's rules say (retried, given
# up, rejected, dropped for a full queue). After each fault the receivers
# recover and what was queued arrives; over the whole run no item the
# receivers acknowledged with a 2xx arrives twice, and /metrics agrees with
# /-/status on the drops by reason.
source "$(dirname "$0")/lib.sh"
command -v wrk >/dev/null || fail "wrk not found (scripts/setup installs it)"

OK='{"status":200,"delay_ms":0,"retry_after":null,"fail_first":0,"fail_status":503,"body":"","body_b64":null,"content_type":null}'
fault_mode() { echo "${OK%\}},$1}"; } # OK with some fields replaced
RCVS=(T M L)                          # traces, metrics, logs receivers
declare -A KIND=([T]=otlp [M]=prw [L]=loki) EXP=([T]=traces [M]=metrics [L]=logs)
# (ports below the ephemeral range: free again when "down" ends, see free_port)
for r in "${RCVS[@]}"; do start_receiver "$r" "$(free_port)"; done

# Short intervals and timeouts, so that each fault shows within seconds:
# 4 retries with a 100-400 ms backoff give up after about 1 s; a trace batch
# gets 2.5 s in all.
OTEL_EXPORTER_OTLP_ENDPOINT="http://127.0.0.1:$T_PORT" OTEL_EXPORTER_OTLP_TIMEOUT=1000 \
    OTEL_BSP_SCHEDULE_DELAY=200 OTEL_BSP_EXPORT_TIMEOUT=2500 OTEL_TRACES_SAMPLER=always_on \
    TYCHO_REMOTE_WRITE_URL="http://127.0.0.1:$M_PORT/api/v1/write" TYCHO_REMOTE_WRITE_INTERVAL=0.5 \
    TYCHO_REMOTE_WRITE_TIMEOUT=1 \
    TYCHO_LOKI_URL="http://127.0.0.1:$L_PORT/loki/api/v1/push" TYCHO_LOKI_FLUSH_INTERVAL=0.2 \
    TYCHO_LOKI_TIMEOUT=1 \
    TYCHO_TELEMETRY_MAX_BYTES=4MiB TYCHO_EXPORT_BACKOFF_MIN=100ms TYCHO_EXPORT_BACKOFF_MAX=400ms \
    TYCHO_EXPORT_MAX_RETRIES=4 start_serve --workers 2

status() { curl -sf "http://$ADM/-/status" || fail "no /-/status"; }

# holds BEFORE NOW EXPR: EXPR (JS) over the exporters of two status documents,
# a (before) and b (now); D(x, k) is the growth of counter k of exporter x,
# R(x, reason) the growth of its drops for that reason, ALL = the three,
# SPANS the spans the telemetry thread handed to the exporters in between.
holds() {
    [ "$(js '
const sa = JSON.parse(args[0]), sb = JSON.parse(args[1]);
const a = sa.exporters, b = sb.exporters;
const SPANS = sb.telemetry.spans_handled - sa.telemetry.spans_handled;
const D = (x, k) => (b[x][k] || 0) - (a[x][k] || 0);
const R = (x, r) => (b[x].dropped_by_reason[r] || 0) - (a[x].dropped_by_reason[r] || 0);
const ALL = ["traces", "metrics", "logs"];
return Boolean(eval(args[2]));' "$1" "$2" "$3")" = true ]
}

# until_status WHAT EXPR [SECONDS]: polls /-/status until EXPR holds against
# $BEFORE; leaves the last document in $NOW.
until_status() {
    local secs=${3:-20}
    for _ in $(seq $((secs * 5))); do
        NOW=$(status)
        holds "$BEFORE" "$NOW" "$2" && return 0
        sleep 0.2
    done
    fail "$PHASE: $1, not within $secs s: $(jsget "$NOW" 'JSON.stringify(s.exporters)')"
}

# changes BEFORE NOW: one line per exporter, what moved.
# shellcheck disable=SC2016 # a JS template literal, not a shell expansion
changes() {
    node -e '
const a = JSON.parse(process.argv[1]).exporters, b = JSON.parse(process.argv[2]).exporters;
for (const x of ["traces", "metrics", "logs"]) {
  const d = {};
  for (const k of ["requests", "retries", "sent", "queued", "in_flight"]) d[k] = b[x][k] - (["queued", "in_flight"].includes(k) ? 0 : a[x][k]);
  for (const [r, n] of Object.entries(b[x].dropped_by_reason)) if (n - (a[x].dropped_by_reason[r] || 0)) d["dropped." + r] = n - (a[x].dropped_by_reason[r] || 0);
  console.log(`    ${x}: ${JSON.stringify(d)} last_error ${JSON.stringify(b[x].last_error).slice(0, 90)}`);
}' "$1" "$2"
}

# expect_capture RCV FILE EXPR WHAT: EXPR (JS) over the capture summary `s`
# (kept beside FILE: a file is summarised once).
expect_capture() {
    [ -f "$2.sum" ] || summary "$2" "${KIND[$1]}" >"$2.sum"
    local sum
    sum=$(cat "$2.sum")
    [ "$(jsget "$sum" "$3")" = true ] || fail "$PHASE: ${EXP[$1]}: $4: $(jsget "$sum" \
        '({requests: s.requests, acked: s.acked, repeats: s.repeats,
           answered_repeats: s.answered_repeats, items_acked: s.items_acked,
           statuses: s.statuses.slice(0, 20), retry_gaps_ms: s.retry_gaps_ms.slice(0, 20)})')"
}

N=0 # numbers the saved captures, in order
taken() { echo "$WORK/$(printf %02d $N)-$1.$2.take.json"; } # LABEL RCV: the last taken
take_all() { # LABEL: every receiver's captures into $(taken LABEL RCV)
    N=$((N + 1))
    for r in "${RCVS[@]}"; do
        local port=${r}_PORT
        take_captured "${!port}" "$(taken "$1" "$r")"
    done
}

load() { # wrk on the public port: no socket error, no non-2xx, a usable rate
    wrk -t1 -c20 -d"${1:-3}s" --timeout 2s "http://$PUB/hello?q=1" >"$WORK/$PHASE.wrk" 2>&1 ||
        fail "$PHASE: wrk failed: $(cat "$WORK/$PHASE.wrk")"
    ! grep -q "Socket errors" "$WORK/$PHASE.wrk" ||
        fail "$PHASE: socket errors under load: $(cat "$WORK/$PHASE.wrk")"
    ! grep -q "Non-2xx" "$WORK/$PHASE.wrk" || fail "$PHASE: non-2xx answers: $(cat "$WORK/$PHASE.wrk")"
    RPS=$(awk '/Requests\/sec/ {print int($2)}' "$WORK/$PHASE.wrk")
    [ "${RPS:-0}" -gt 300 ] || fail "$PHASE: only ${RPS:-0} req/s"
}

# begin_fault NAME MODE-JSON|down: the receivers fail that way, wrk loads
# the public port meanwhile; $BEFORE is the status before.
begin_fault() {
    PHASE=$1
    echo "--- $PHASE (at ${SECONDS}s)"
    BEFORE=$(status)
    for r in "${RCVS[@]}"; do
        local port=${r}_PORT
        if [ "$2" = down ]; then mode "${!port}" "$(fault_mode '"status":503')"; else mode "${!port}" "$2"; fi
    done
    take_all "$PHASE-before"
    if [ "$2" = down ]; then
        for r in "${RCVS[@]}"; do
            local pid=${r}_PID
            stop_pid "${!pid}"
        done
    fi
    load 2
}

# end_fault: the state once the fault has shown ($NOW of until_status): RSS,
# the byte budget.
end_fault() {
    local rss_kb
    rss_kb=$(awk '/VmRSS/ {print $2}' "/proc/$SERVE/status")
    echo "  $RPS req/s, RSS ${rss_kb} kB, queued $(jsget "$NOW" 's.exporters.queued_bytes') bytes"
    changes "$BEFORE" "$NOW"
    # (ASan keeps freed memory in its quarantine, TSan shadow memory: the
    # bound means nothing there.)
    if [ "${TYCHO_SANITIZE:-OFF}" = "OFF" ]; then
        [ "$rss_kb" -lt 200000 ] || fail "$PHASE: RSS ${rss_kb} kB: queued telemetry is not bounded"
    fi
    # in-flight bodies are counted past the cap (exporters/README.md): at
    # most one per exporter, a trace batch or a 1 MiB log push
    [ "$(jsget "$NOW" 's.exporters.queued_bytes <= s.exporters.max_bytes + 2 * 1048576')" = true ] ||
        fail "$PHASE: byte budget exceeded: $(jsget "$NOW" 's.exporters.queued_bytes')"
}

# recover: the receivers answer 200 again (down: they listen again on their
# ports); what was queued as they came back arrives (only a batch then in
# flight may still be given up), each exporter succeeds again: fresh
# requests make sure it has something to succeed with. (An exporter stays
# "failing" until a batch goes through, and on a loaded machine it may have
# given up on all it had queued before the receivers were back: each batch
# gets about 1 s of retries, and a receiver's node can take seconds to
# start.) What the receivers saw during the fault and the recovery is in
# $(taken PHASE RCV).
recover() {
    if [ "$PHASE" = down ]; then
        for r in "${RCVS[@]}"; do
            local port=${r}_PORT
            start_receiver "$r" "${!port}"
        done
    else
        for r in "${RCVS[@]}"; do
            local port=${r}_PORT
            mode "${!port}" "$OK"
        done
    fi
    BEFORE=$(status)
    local back=$BEFORE
    for _ in 1 2 3; do
        curl -sf "http://$PUB/hello?q=recovery" >/dev/null || fail "$PHASE: /hello failed after the fault"
    done
    # the spans queued are all sent, or a batch still in flight given up;
    # new spans (SPANS: those of the requests above, and any a worker still
    # held when wrk stopped) are sent or dropped too; log lines: those of
    # the requests and tycho's own are added; a metrics snapshot goes every
    # 0.5 s
    until_status "recovery" '
      ALL.every((x) => !b[x].failing && (D(x, "sent") > 0 || a[x].queued + a[x].in_flight === 0)) &&
      D("metrics", "sent") > 0 &&
      b.traces.queued + b.traces.in_flight === 0 && b.logs.queued + b.logs.in_flight === 0' 30
    holds "$back" "$NOW" '
      D("traces", "sent") >= a.traces.queued &&
      D("traces", "sent") + D("traces", "dropped") === a.traces.queued + a.traces.in_flight + SPANS &&
      D("logs", "sent") >= a.logs.queued' ||
        fail "$PHASE: what was queued did not arrive: $(jsget "$back" 'JSON.stringify(s.exporters)')
$(changes "$back" "$NOW")"
    take_all "$PHASE"
    expect_capture T "$(taken "$PHASE" T)" "s.distinct_acked >= $(jsget "$back" 's.exporters.traces.queued')" \
        "the queued spans were not acknowledged"
    expect_capture L "$(taken "$PHASE" L)" "s.distinct_acked >= $(jsget "$back" 's.exporters.logs.queued')" \
        "the queued log lines were not acknowledged"
    expect_capture M "$(taken "$PHASE" M)" "s.acked > 0" "no snapshot acknowledged"
    echo "  recovered (at ${SECONDS}s):"
    changes "$back" "$NOW"
}

PHASE=baseline
echo "--- baseline (receivers answer 200)"
load 1
echo "  $RPS req/s"
BEFORE=$(status)

begin_fault down down
until_status "retried, given up, queues full, connection refused" '
  ALL.every((x) => D(x, "retries") > 0 && R(x, "export_failed") > 0 &&
                   /connection refused/.test(b[x].last_error)) &&
  R("traces", "queue_full") > 0 && R("logs", "queue_full") > 0'
end_fault
recover

begin_fault slow "$(fault_mode '"delay_ms":10000')"
until_status "timed out and retried; a trace batch given up after OTEL_BSP_EXPORT_TIMEOUT" '
  ALL.every((x) => D(x, "retries") > 0 && /timeout|timed out/i.test(b[x].last_error)) &&
  R("traces", "export_failed") > 0'
end_fault
recover
for r in "${RCVS[@]}"; do
    expect_capture "$r" "$(taken slow "$r")" 's.statuses.includes("gone")' \
        "the sender did not hang up on the slow receiver"
done

# A retry is judged by the receiver: one that followed an answer (a 500
# here) is the exporter's choice; one after the sender's own timeout (the
# receiver answered later, or never: 'gone') is the slow phase's rule, which
# a loaded machine can bring into any phase, so the exporters' retry counts
# do not tell the two apart.
begin_fault 500 "$(fault_mode '"status":500')"
until_status "OTLP drops a 500 (rejected, no retry); remote write and Loki retry it, then give up" '
  R("traces", "rejected") > 0 &&
  ["metrics", "logs"].every((x) => D(x, "retries") > 0 && R(x, "export_failed") > 0)'
end_fault
recover
expect_capture T "$(taken 500 T)" 's.answered_repeats === 0 && s.statuses.includes(500)' "a 500 was retried"
expect_capture M "$(taken 500 M)" 's.answered_repeats > 0' "a 500 was not retried"
expect_capture L "$(taken 500 L)" 's.answered_repeats > 0' "a 500 was not retried"

begin_fault 503 "$(fault_mode '"status":503')"
until_status "retried by all three, then given up" '
  ALL.every((x) => D(x, "retries") > 0 && R(x, "export_failed") > 0) &&
  R("traces", "queue_full") > 0 && R("logs", "queue_full") > 0'
end_fault
recover
for r in "${RCVS[@]}"; do
    expect_capture "$r" "$(taken 503 "$r")" 's.answered_repeats > 0' "a 503 was not retried"
done

# Retry-After: 2 s, against a 100-400 ms backoff: a retry sooner than 2 s
# after the 429 ignored it.
begin_fault 429 "$(fault_mode '"status":429,"retry_after":2')"
until_status "retried by all three" 'ALL.every((x) => D(x, "retries") > 0)'
end_fault
recover
# (retries that went once the receivers answered 200 again waited too)
for r in "${RCVS[@]}"; do
    expect_capture "$r" "$(taken 429 "$r")" \
        's.answered_repeats > 0 && s.answered_retry_gaps_ms.every((g) => g >= 1900)' \
        "Retry-After: 2 not honoured"
done

begin_fault 400 "$(fault_mode '"status":400,"body":"bad request"')"
until_status "dropped as rejected by all three, never retried" '
  ALL.every((x) => R(x, "rejected") > 0) &&
  /HTTP 400: bad request/.test(b.logs.last_error)'
end_fault
recover
for r in "${RCVS[@]}"; do
    expect_capture "$r" "$(taken 400 "$r")" \
        's.answered_repeats === 0 && s.statuses.includes(400) &&
         s.statuses.every((x) => x === 400 || x === 200 || x === "gone")' \
        "a 400 was retried"
done

echo "--- /metrics agrees with /-/status on the exporters' drops"
curl -sf "http://$ADM/metrics" >"$WORK/metrics.txt" || fail "no /metrics"
ST=$(status)
for x in traces:spans metrics:metrics logs:logs; do
    for reason in rejected export_failed; do
        want=$(jsget "$ST" "s.exporters.${x%%:*}.dropped_by_reason.$reason || 0")
        got=$(awk -v k="tycho_telemetry_dropped_total{signal=\"${x#*:}\",reason=\"$reason\"}" \
            '$1 == k {print $2}' "$WORK/metrics.txt")
        [ "$got" = "$want" ] || fail "/metrics says $got ${x#*:} $reason, /-/status $want"
    done
done
grep '^tycho_telemetry_dropped_total' "$WORK/metrics.txt" | grep -v ' 0$' | sed 's/^/  /'

echo "--- shutdown, then: nothing acknowledged arrived twice (at ${SECONDS}s)"
kill -TERM "$SERVE"
wait "$SERVE" || fail "tycho exited non-zero after SIGTERM"
! grep -q 'telemetry left unsent at shutdown' "$WORK/serve.log" ||
    fail "telemetry left unsent with healthy receivers: $(grep 'left unsent' "$WORK/serve.log")"
take_all end
for r in "${RCVS[@]}"; do
    # every acknowledged request of the run, in the order they were taken
    node -e '
const fs = require("fs");
const all = process.argv.slice(2).flatMap((f) => JSON.parse(fs.readFileSync(f)));
const ok = all.filter((r) => r.status >= 200 && r.status < 300 && r.answered && !r.client_gone);
process.stdout.write(JSON.stringify(ok));' "$WORK"/*."$r".take.json >"$WORK/acked.$r.json"
    sum=$(summary "$WORK/acked.$r.json" "${KIND[$r]}")
    echo "  ${EXP[$r]}: $(jsget "$sum" '({acked: s.acked, items_acked: s.items_acked, dups_acked: s.dups_acked})')"
    [ "$(jsget "$sum" 's.dups_acked')" = 0 ] || fail "${EXP[$r]}: acknowledged items arrived twice"
    [ "$(jsget "$sum" 's.items_acked > 0')" = true ] || fail "${EXP[$r]}: nothing acknowledged"
done
echo "PASS"
