#!/usr/bin/env bash
# String-array span attributes over OTLP from the real server, decoded by an
# independent decoder (decoders.js: the OpenTelemetry project's protos): a
# DynamoDB call's CLIENT span carries aws.dynamodb.table_names as an array
# of one string (string[] in the semantic conventions), and arrays of
# strings a route sets with tycho.trace arrive as arrays (routes_arrays/).
source "$(dirname "$0")/lib.sh"
start_receiver R
OTEL_EXPORTER_OTLP_ENDPOINT="http://127.0.0.1:$R_PORT" OTEL_BSP_SCHEDULE_DELAY=100 \
    OTEL_TRACES_SAMPLER=always_on TYCHO_AWS_BACKEND=local ROUTES="$EXP_DIR/routes_arrays" \
    start_serve --workers 1
r=$(curl -sf "http://$PUB/ddb") || fail "GET /ddb failed: $(tail -5 "$WORK/serve.log")"
[ "$r" = '{"found":false}' ] || fail "GET /ddb answered $r"
# both spans exported (the batch goes out within OTEL_BSP_SCHEDULE_DELAY)
for _ in $(seq 100); do
    captured "$R_PORT" "$WORK/c.json"
    rc=0
    node "$EXP_DIR/otlp_check.js" "$WORK/c.json" arrays /v1/traces || rc=$?
    [ "$rc" = 2 ] || break
    sleep 0.1
done
[ "$rc" = 0 ] || fail "string arrays"
echo "PASS"
