#!/usr/bin/env bash
# A second signal cuts the shutdown short (README, graceful shutdown): the
# process exits 1 at once, and the telemetry the exporters still hold (the
# receiver is down: spans, Loki log lines and remote-write samples wait for a
# retry) is counted and reported in the one "telemetry left unsent at
# shutdown" line, as the flush's deadline reports it — not lost unsaid.
# Both moments: during the drain (a request still running), and during the
# exporters' final flush (the workers gone, the flush retrying).
source "$(dirname "$0")/../exporters/lib.sh"
DEAD=$(free_port) # nothing listens there
export OTEL_EXPORTER_OTLP_TRACES_ENDPOINT="http://127.0.0.1:$DEAD/v1/traces" \
    OTEL_BSP_SCHEDULE_DELAY=100 OTEL_TRACES_SAMPLER=always_on \
    TYCHO_LOKI_URL="http://127.0.0.1:$DEAD/loki/api/v1/push" TYCHO_LOKI_FLUSH_INTERVAL=0.2 \
    TYCHO_REMOTE_WRITE_URL="http://127.0.0.1:$DEAD/api/v1/write" TYCHO_REMOTE_WRITE_INTERVAL=0.2 \
    TYCHO_EXPORT_BACKOFF_MIN=20s TYCHO_EXPORT_BACKOFF_MAX=30s TYCHO_DRAIN_TIMEOUT=30
ROUTES="$TYCHO_SRC/tests/integration/routes"

# second_signal HOLD: serves, sends requests (and, HOLD=1, one that
# sleeps 20 s, so the drain still runs), SIGTERM, then 0.5 s later (past the
# 100 ms in which the same signal is the same request) SIGINT; checks the
# exit and the one unsent line.
second_signal() {
    ROUTES="$ROUTES" start_serve --workers 1
    for i in 1 2 3 4 5; do curl -sf "http://$PUB/json?i=$i" >/dev/null || fail "GET /json"; done
    if [ "$1" = 1 ]; then
        exec 3<>"/dev/tcp/${PUB%:*}/${PUB##*:}"
        printf 'GET /sleep/20000 HTTP/1.1\r\nHost: t\r\n\r\n' >&3
    fi
    sleep 0.6 # the batches went out once, failed, and wait for their retry
    kill -TERM "$SERVE"
    sleep 0.5
    kill -0 "$SERVE" || fail "tycho exited before the second signal: $(tail -3 "$WORK/serve.log")"
    if [ "$1" = 0 ]; then # the flush, not the drain, is what the signal cuts
        ! grep -q '"stopped"' "$WORK/serve.log" || fail "tycho stopped before the second signal"
    fi
    local t0 rc=0
    t0=$(date +%s%N)
    kill -INT "$SERVE"
    wait "$SERVE" || rc=$?
    [ "$1" = 1 ] && exec 3>&-
    local ms=$((($(date +%s%N) - t0) / 1000000))
    echo "  exit $rc after $ms ms"
    [ "$rc" = 1 ] || fail "a second signal exits 1, got $rc: $(tail -3 "$WORK/serve.log")"
    [ "$ms" -lt 3000 ] || fail "the second signal took $ms ms to exit"
    grep -q '"second signal: exiting now"' "$WORK/serve.log" || fail "no second-signal line"
    UNSENT=$(grep '"exporters: telemetry left unsent at shutdown"' "$WORK/serve.log" || true)
    [ "$(grep -c . <<<"$UNSENT")" = 1 ] || fail "want one unsent line: $(tail -5 "$WORK/serve.log")"
    echo "  $UNSENT"
    # 5 server spans; the access lines of 5 requests; the samples of a batch
    jsget "$UNSENT" 's.spans >= 5 && s.log_lines >= 5 && s.samples >= 1' | grep -qx true ||
        fail "the unsent counts miss what was queued: $UNSENT"
}

echo "--- during the drain: a request still running"
second_signal 1
echo "--- during the final flush: the workers gone, the exporters retrying"
second_signal 0
grep -q '"shutting down: draining connections"' "$WORK/serve.log" || fail "no drain"
echo "PASS"
