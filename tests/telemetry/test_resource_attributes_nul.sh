#!/usr/bin/env bash
# OTEL_RESOURCE_ATTRIBUTES with a %00 in a key is a bad list: tycho serve
# warns and ignores it (as for any bad percent-encoding, the OTel spec's
# rule), instead of taking the key cut at the NUL (an empty key). Found by
# fuzz.export_config (corpus/export_config/kv_percent_nul).
source "$(dirname "$0")/../exporters/lib.sh"
DEAD=$(free_port) # nothing listens there: the spans only wait
export OTEL_EXPORTER_OTLP_TRACES_ENDPOINT="http://127.0.0.1:$DEAD/v1/traces" \
    OTEL_RESOURCE_ATTRIBUTES='%00x=1,team=a' TYCHO_DRAIN_TIMEOUT=1
ROUTES="$TYCHO_SRC/tests/integration/routes" start_serve --workers 1
curl -sf "http://$PUB/json" >/dev/null || fail "GET /json: $(tail -3 "$WORK/serve.log")"
grep -q 'OTEL_RESOURCE_ATTRIBUTES ignored: entry 1: bad percent-encoding in its key' "$WORK/serve.log" ||
    fail "no warning: $(head -c 1500 "$WORK/serve.log")"
echo "PASS"
