#!/usr/bin/env bash
# The exporters inside a real `tycho serve` under wrk load while their
# receiver fails (503 for everything): requests never fail or slow to a
# crawl, memory stays bounded, drops are counted; once the receiver answers
# 2xx again, traces, metrics and logs arrive.
source "$(dirname "$0")/lib.sh"
command -v wrk >/dev/null || fail "wrk not found (scripts/setup installs it)"

start_receiver RCV
mode "$RCV_PORT" '{"status":503}'
base="http://127.0.0.1:$RCV_PORT"

OTEL_EXPORTER_OTLP_ENDPOINT="$base" TYCHO_REMOTE_WRITE_URL="$base/api/v1/write" \
  TYCHO_REMOTE_WRITE_INTERVAL=1 TYCHO_LOKI_URL="$base/loki/api/v1/push" \
  OTEL_TRACES_SAMPLER=always_on OTEL_BSP_SCHEDULE_DELAY=200 TYCHO_TELEMETRY_MAX_BYTES=4000000 \
  TYCHO_EXPORT_BACKOFF_MAX=1 \
  "$TYCHO_BIN" serve --routes "$EXP_DIR/routes" --listen 127.0.0.1:0 --admin-listen 127.0.0.1:0 \
  --workers 2 --data-dir "$WORK/data" >"$WORK/serve.log" 2>&1 &
SERVE=$!
PIDS+=("$SERVE")
for _ in $(seq 100); do grep -q '"listening"' "$WORK/serve.log" && break; sleep 0.05; done
PUB=$(grep -o '"public":"[^"]*"' "$WORK/serve.log" | head -1 | cut -d'"' -f4)
ADM=$(grep -o '"admin":"[^"]*"' "$WORK/serve.log" | head -1 | cut -d'"' -f4)
[ -n "$PUB" ] || fail "tycho did not start: $(head -5 "$WORK/serve.log")"

wrk -t1 -c20 -d5s "http://$PUB/hello?q=1" >"$WORK/wrk.txt" 2>&1 || fail "wrk failed"
cat "$WORK/wrk.txt"
! grep -q "Socket errors" "$WORK/wrk.txt" || fail "socket errors under load with a failing receiver"
! grep -q "Non-2xx" "$WORK/wrk.txt" || fail "non-2xx answers under load with a failing receiver"
rps=$(awk '/Requests\/sec/ {print int($2)}' "$WORK/wrk.txt")
[ "${rps:-0}" -gt 500 ] || fail "only ${rps:-0} req/s with a failing receiver"

rss_kb=$(awk '/VmRSS/ {print $2}' "/proc/$SERVE/status")
echo "RSS after the load: ${rss_kb} kB"
# (ASan keeps freed memory in its quarantine: the bound means nothing there.)
if [ "${TYCHO_SANITIZE:-OFF}" != "ON" ]; then
  [ "$rss_kb" -lt 200000 ] || fail "RSS ${rss_kb} kB: queued telemetry is not bounded"
fi

curl -sf "http://$ADM/metrics" >"$WORK/metrics.txt" || fail "no /metrics"
failed=$(curl -sf "http://$ADM/-/status" | grep -o '"retries":[0-9]*' | head -1 | cut -d: -f2)
[ "${failed:-0}" -gt 0 ] || fail "no retries recorded while the receiver failed"

# Recovery: the receiver answers 2xx, what was queued (or new) arrives.
curl -sf -X POST "$base/__reset" >/dev/null
mode "$RCV_PORT" '{"status":200}'
for _ in 1 2 3; do curl -sf "http://$PUB/hello?q=2" >/dev/null; done
ok=""
for _ in $(seq 100); do
  curl -sf "$base/__captured" >"$WORK/captured.json"
  if node -e '
    const c = require(process.argv[1]);
    const ok = p => c.some(r => r.path === p && r.status >= 200 && r.status < 300);
    process.exit(ok("/v1/traces") && ok("/api/v1/write") && ok("/loki/api/v1/push") ? 0 : 1);
  ' "$WORK/captured.json"; then ok=1; break; fi
  sleep 0.2
done
[ -n "$ok" ] || fail "traces, metrics and logs did not all arrive after recovery: $(head -c 600 "$WORK/captured.json")"

kill -TERM "$SERVE"
wait "$SERVE" || fail "tycho exited non-zero after SIGTERM"
echo "ok: no request errors while exporting failed (${rps} req/s, RSS ${rss_kb} kB), delivery resumed"
