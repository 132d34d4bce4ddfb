#!/usr/bin/env bash
# One service name in every signal of the real server: the "service" of its
# log lines on stdout, the service label of its Loki streams and the
# service.name of its OTLP trace resource — OTEL_SERVICE_NAME when set, else
# the service.name of OTEL_RESOURCE_ATTRIBUTES, else unknown_service:tycho
# (the OpenTelemetry default) in all three. (Remote write carries no service
# label: its job is TYCHO_REMOTE_WRITE_JOB.)
source "$(dirname "$0")/lib.sh"
unset OTEL_SERVICE_NAME OTEL_RESOURCE_ATTRIBUTES
start_receiver R

# check NAME: serves one request, then every log line, Loki stream and trace
# resource must name the service NAME.
check() {
    local want=$1
    reset_captured "$R_PORT"
    OTEL_EXPORTER_OTLP_ENDPOINT="http://127.0.0.1:$R_PORT" OTEL_BSP_SCHEDULE_DELAY=100 \
        TYCHO_LOKI_URL="http://127.0.0.1:$R_PORT/loki/api/v1/push" TYCHO_LOKI_FLUSH_INTERVAL=100ms \
        start_serve --workers 1
    curl -sf "http://$PUB/hello" >/dev/null || fail "GET /hello failed: $(tail -5 "$WORK/serve.log")"
    for _ in $(seq 100); do
        captured "$R_PORT" "$WORK/c.json"
        rc=0
        node - "$WORK/c.json" "$EXP_DIR/decoders.js" "$want" "$WORK/serve.log" <<'JS' || rc=$?
const fs = require('fs');
const [file, decoders, want, logFile] = process.argv.slice(2);
const {decodeOtlp, attrMap, decodeLoki, parseSelector} = require(decoders);
const reqs = JSON.parse(fs.readFileSync(file));
const traces = reqs.filter((r) => r.path === '/v1/traces'), loki = reqs.filter((r) => r.path === '/loki/api/v1/push');
const fail = (m) => { console.error('FAIL:', m); process.exit(1); };
const resources = traces.flatMap((r) => decodeOtlp(Buffer.from(r.body, 'base64')).resourceSpans)
  .map((rs) => attrMap(rs.resource.attributes)['service.name']);
const streams = loki.flatMap((r) => decodeLoki(Buffer.from(r.body, 'base64')));
if (!resources.length || !streams.some((s) => s.entries.some((e) => e.line.includes('"msg":"hello"'))))
  process.exit(2); // not everything exported yet
for (const s of resources) if (s !== want) fail(`trace resource service.name ${s}, want ${want}`);
for (const s of streams) {
  const l = parseSelector(s.labels).service;
  if (l !== want) fail(`Loki stream service=${l}, want ${want}`);
}
const lines = fs.readFileSync(logFile, 'utf8').split('\n').filter((l) => l.startsWith('{'));
if (lines.length < 2) fail('no log lines');
for (const l of lines) {
  const s = JSON.parse(l).service;
  if (s !== want) fail(`log line service ${s}, want ${want}: ${l}`);
}
JS
        [ "$rc" = 2 ] || break
        sleep 0.1
    done
    [ "$rc" = 0 ] || fail "service name $want"
    stop_pid "$SERVE"
    echo "ok: $want"
}

echo "--- OTEL_SERVICE_NAME wins over the resource attribute"
OTEL_SERVICE_NAME=checkout OTEL_RESOURCE_ATTRIBUTES='service.name=other,env=x' check checkout
echo "--- only OTEL_RESOURCE_ATTRIBUTES (percent-decoded)"
OTEL_RESOURCE_ATTRIBUTES='env=x,service.name=pay%20ments' check 'pay ments'
echo "--- neither: the OpenTelemetry default"
check unknown_service:tycho
echo "PASS"
