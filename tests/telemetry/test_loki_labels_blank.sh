#!/usr/bin/env bash
# TYCHO_LOKI_LABELS of blanks and commas (" , ,") is no static label: tycho
# serve starts and answers. Its empty list was passed to qsort as (NULL, 0),
# which the sanitizer build (ASan + UBSan, what CI runs) aborted on at
# startup; found by fuzz.export_config (corpus/export_config/loki_labels_blank).
source "$(dirname "$0")/../exporters/lib.sh"
DEAD=$(free_port) # nothing listens there: the lines only wait
export TYCHO_LOKI_URL="http://127.0.0.1:$DEAD/loki/api/v1/push" TYCHO_LOKI_LABELS=' , ,' \
    TYCHO_DRAIN_TIMEOUT=1 # the final flush to nobody: not 25 s
ROUTES="$TYCHO_SRC/tests/integration/routes" start_serve --workers 1
curl -sf "http://$PUB/json" >/dev/null || fail "GET /json: $(tail -3 "$WORK/serve.log")"
! grep -q 'runtime error' "$WORK/serve.log" || fail "sanitizer report: $(grep 'runtime error' "$WORK/serve.log")"
echo "PASS"
