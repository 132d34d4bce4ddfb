#!/usr/bin/env bash
# OTLP/HTTP traces: what tycho sends is decoded by an independent decoder
# (the OpenTelemetry project's generated protobufjs root) and every field of
# a known span is checked, with the resource (env + ECS task metadata from a
# loopback fake) and the scope; then endpoint rules, batching, gzip,
# disabling and a bad setting.
source "$(dirname "$0")/lib.sh"
VERSION=$(tycho_version)

start_receiver R
export OTEL_SERVICE_NAME=tycho-test
export OTEL_RESOURCE_ATTRIBUTES='service.version=9.9.9,deployment.environment=test%2Cstaging,team=a%3Db'

echo "--- known span, generic endpoint (+/v1/traces), headers, ECS resource"
OTEL_EXPORTER_OTLP_ENDPOINT="http://127.0.0.1:$R_PORT/otlp-base/" \
OTEL_EXPORTER_OTLP_HEADERS='x-api-key=s%20ecret, X-Tenant=t1' \
OTEL_BSP_SCHEDULE_DELAY=200 \
ECS_CONTAINER_METADATA_URI_V4="http://127.0.0.1:$R_PORT/ecs" \
    "$DRIVER" span spans 3 idle 5000 status shutdown 2000 >"$WORK/d1.out" || fail "driver failed"
captured "$R_PORT" "$WORK/c1.json"
node "$EXP_DIR/otlp_check.js" "$WORK/c1.json" known "$VERSION" /otlp-base/v1/traces ||
    fail "known span check"
st=$(last_status "$WORK/d1.out")
[ "$(jsget "$st" 's.exporters.traces.sent')" = 4 ] || fail "status sent != 4: $st"
[ "$(jsget "$st" 's.exporters.traces.dropped')" = 0 ] || fail "status dropped != 0: $st"

echo "--- signal-specific endpoint used as is; batches of OTEL_BSP_MAX_EXPORT_BATCH_SIZE"
reset_captured "$R_PORT"
OTEL_EXPORTER_OTLP_ENDPOINT="http://127.0.0.1:1/not-this" \
OTEL_EXPORTER_OTLP_TRACES_ENDPOINT="http://127.0.0.1:$R_PORT/custom/traces" \
OTEL_BSP_MAX_EXPORT_BATCH_SIZE=10 OTEL_BSP_SCHEDULE_DELAY=300 \
    "$DRIVER" spans 25 idle 5000 shutdown 2000 >"$WORK/d2.out" || fail "driver failed"
captured "$R_PORT" "$WORK/c2.json"
node "$EXP_DIR/otlp_check.js" "$WORK/c2.json" batches /custom/traces 25 10 || fail "batches"
n=$(jsget "$(cat "$WORK/c2.json")" 's.length')
[ "$n" = 3 ] || fail "expected 3 requests (10+10+5), got $n"

echo "--- a query on the generic endpoint stays after the path (/otlp/v1/traces?...), a fragment goes"
reset_captured "$R_PORT"
OTEL_EXPORTER_OTLP_ENDPOINT="http://127.0.0.1:$R_PORT/otlp?api_key=abc#frag" \
OTEL_BSP_SCHEDULE_DELAY=100 \
    "$DRIVER" spans 3 idle 5000 status shutdown 2000 >"$WORK/d6.out" || fail "driver failed"
captured "$R_PORT" "$WORK/c6.json"
node "$EXP_DIR/otlp_check.js" "$WORK/c6.json" batches '/otlp/v1/traces?api_key=abc' 3 512 ||
    fail "query endpoint"
st=$(last_status "$WORK/d6.out")
[ "$(jsget "$st" 's.exporters.traces.endpoint')" = "http://127.0.0.1:$R_PORT/otlp/v1/traces" ] ||
    fail "status endpoint (query not hidden?): $st"

echo "--- an empty service.name is unset: the resource says unknown_service:tycho, not \"\""
reset_captured "$R_PORT"
OTEL_SERVICE_NAME= OTEL_RESOURCE_ATTRIBUTES='service.name=,env=x' \
OTEL_EXPORTER_OTLP_ENDPOINT="http://127.0.0.1:$R_PORT" OTEL_BSP_SCHEDULE_DELAY=100 \
    "$DRIVER" spans 1 idle 5000 shutdown 2000 >"$WORK/d7.out" || fail "driver failed"
captured "$R_PORT" "$WORK/c7.json"
node -e '
const {decodeOtlp, attrMap} = require(process.argv[2]);
const reqs = JSON.parse(require("fs").readFileSync(process.argv[1]));
if (!reqs.length) { console.error("no request"); process.exit(1); }
for (const r of reqs)
  for (const rs of decodeOtlp(Buffer.from(r.body, "base64")).resourceSpans) {
    const a = attrMap(rs.resource.attributes);
    if (a["service.name"] !== "unknown_service:tycho" || a.env !== "x") {
      console.error("resource", JSON.stringify(a)); process.exit(1);
    }
  }' "$WORK/c7.json" "$EXP_DIR/decoders.js" || fail "empty service.name"

echo "--- OTEL_EXPORTER_OTLP_COMPRESSION=gzip: gzip bodies (Content-Encoding), the same spans"
reset_captured "$R_PORT"
OTEL_EXPORTER_OTLP_ENDPOINT="http://127.0.0.1:$R_PORT" OTEL_EXPORTER_OTLP_COMPRESSION=gzip \
OTEL_BSP_MAX_EXPORT_BATCH_SIZE=10 OTEL_BSP_SCHEDULE_DELAY=300 \
    "$DRIVER" spans 25 idle 5000 shutdown 2000 >"$WORK/d5.out" || fail "driver failed"
captured "$R_PORT" "$WORK/c5.json"
OTLP_ENCODING=gzip node "$EXP_DIR/otlp_check.js" "$WORK/c5.json" batches /v1/traces 25 10 ||
    fail "gzip batches"
node -e '
const reqs = JSON.parse(require("fs").readFileSync(process.argv[1]));
const zlib = require("zlib");
let packed = 0, raw = 0;
for (const r of reqs) { const b = Buffer.from(r.body, "base64"); packed += b.length; raw += zlib.gunzipSync(b).length; }
if (!(packed * 2 < raw)) { console.error(`gzip did not shrink the bodies: ${packed} of ${raw}`); process.exit(1); }
console.log(`  gzip: ${packed} bytes for ${raw}`);' "$WORK/c5.json" || fail "gzip ratio"

echo "--- OTEL_* enum values in any case (the spec): OTLP, HTTP/Protobuf, GZIP"
reset_captured "$R_PORT"
OTEL_EXPORTER_OTLP_ENDPOINT="http://127.0.0.1:$R_PORT" OTEL_TRACES_EXPORTER=OTLP \
OTEL_EXPORTER_OTLP_PROTOCOL=HTTP/Protobuf OTEL_EXPORTER_OTLP_COMPRESSION=GZIP \
OTEL_BSP_SCHEDULE_DELAY=100 \
    "$DRIVER" spans 3 idle 5000 shutdown 2000 >"$WORK/d8.out" || fail "driver failed (upper case)"
captured "$R_PORT" "$WORK/c8.json"
OTLP_ENCODING=gzip node "$EXP_DIR/otlp_check.js" "$WORK/c8.json" batches /v1/traces 3 512 ||
    fail "upper-case enum values"

echo "--- OTEL_TRACES_EXPORTER=none and OTEL_SDK_DISABLED=true export nothing"
reset_captured "$R_PORT"
for v in OTEL_TRACES_EXPORTER=none OTEL_TRACES_EXPORTER=None OTEL_SDK_DISABLED=TRUE; do
    env "$v" OTEL_EXPORTER_OTLP_ENDPOINT="http://127.0.0.1:$R_PORT" OTEL_BSP_SCHEDULE_DELAY=100 \
        "$DRIVER" span sleep 400 status shutdown 500 >"$WORK/d3.out" || fail "driver failed ($v)"
    [ "$(jsget "$(last_status "$WORK/d3.out")" 's.exporters.traces.enabled')" = false ] ||
        fail "$v: traces still enabled"
    grep -q '"level"' "$WORK/d3.out" && fail "$v: unexpected log output: $(cat "$WORK/d3.out")"
done
captured "$R_PORT" "$WORK/c3.json"
[ "$(cat "$WORK/c3.json")" = "[]" ] || fail "something was sent while disabled"

echo "--- nothing configured: nothing exported, nothing logged"
env -u OTEL_SERVICE_NAME -u OTEL_RESOURCE_ATTRIBUTES "$DRIVER" span logs 3 counter 2 sleep 200 \
    shutdown 100 >"$WORK/d4.out" 2>&1 || fail "driver failed without config"
grep -v '^STATUS \|^SHUTDOWN ' "$WORK/d4.out" && fail "output without any exporter configured"

echo "--- bad settings: one line, exit 2"
for bad in OTEL_BSP_MAX_QUEUE_SIZE=abc OTEL_EXPORTER_OTLP_PROTOCOL=grpc \
    OTEL_EXPORTER_OTLP_TIMEOUT=-5 OTEL_EXPORTER_OTLP_HEADERS=novalue \
    OTEL_EXPORTER_OTLP_COMPRESSION=zstd OTEL_EXPORTER_OTLP_COMPRESSION=GZIP9 \
    OTEL_BSP_MAX_EXPORT_BATCH_SIZE=5000 OTEL_TRACES_EXPORTER=zipkin; do
    set +e
    out=$(env "$bad" OTEL_EXPORTER_OTLP_ENDPOINT="http://127.0.0.1:$R_PORT" "$DRIVER" status 2>&1)
    rc=$?
    set -e
    [ "$rc" = 2 ] || fail "$bad: exit $rc, expected 2 ($out)"
    [ "$(printf '%s\n' "$out" | wc -l)" = 1 ] || fail "$bad: not one line: $out"
    var=${bad%%=*}
    printf '%s' "$out" | grep -q "^$var: " || fail "$bad: message does not name $var: $out"
    echo "  $bad -> $out"
done
echo "PASS"
