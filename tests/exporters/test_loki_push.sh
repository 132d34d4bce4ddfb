#!/usr/bin/env bash
# Loki push: the bodies tycho sends (protobuf + snappy block, and the JSON
# fallback) are decoded independently and checked: stream labels (service,
# level and the static ones, nothing from requests), structured metadata
# (and none with TYCHO_LOKI_STRUCTURED_METADATA=off), timestamps,
# per-stream order, every line exactly once, tenant header.
source "$(dirname "$0")/lib.sh"

start_receiver R
export TYCHO_LOKI_URL="http://127.0.0.1:$R_PORT/loki/api/v1/push"
export TYCHO_LOKI_LABELS='region=eu%2Dwest, env=test'
export TYCHO_LOKI_TENANT=team-a
export TYCHO_LOKI_FLUSH_INTERVAL=0.2

# proto and json, then each without structured metadata
for run in proto json proto-nometa json-nometa; do
    fmt=${run%-nometa}
    echo "--- $run"
    reset_captured "$R_PORT"
    f=protobuf sm=on nometa=""
    [ "$fmt" = json ] && f=json
    [ "$run" != "$fmt" ] && sm=off nometa=1
    TYCHO_LOKI_FORMAT=$f TYCHO_LOKI_STRUCTURED_METADATA=$sm "$DRIVER" \
        logfile "$EXP_DIR/loki_lines.txt" logs 40 \
        sleep 300 logs 20 idle 5000 status shutdown 2000 >"$WORK/d-$fmt.out" || fail "driver failed"
    captured "$R_PORT" "$WORK/c-$fmt.json"
    LOKI_NO_METADATA=$nometa node "$EXP_DIR/loki_check.js" "$WORK/c-$fmt.json" "$fmt" \
        "$EXP_DIR/loki_lines.txt" 60 || fail "loki $run check"
    st=$(last_status "$WORK/d-$fmt.out")
    [ "$(jsget "$st" 's.exporters.logs.sent')" = 67 ] || fail "status: $st"
done

echo "--- batches by size: TYCHO_LOKI_BATCH_BYTES caps a push"
reset_captured "$R_PORT"
TYCHO_LOKI_BATCH_BYTES=4096 TYCHO_LOKI_FLUSH_INTERVAL=5 "$DRIVER" logs 200 idle 5000 \
    shutdown 2000 >"$WORK/d-b.out" || fail "driver failed"
captured "$R_PORT" "$WORK/c-b.json"
n=$(jsget "$(cat "$WORK/c-b.json")" 's.length')
[ "$n" -ge 10 ] || fail "200 lines of ~250 bytes in 4 KiB pushes: expected >= 10 pushes, got $n"

echo "--- bad settings"
for bad in 'TYCHO_LOKI_LABELS=level=x' 'TYCHO_LOKI_LABELS=9bad=x' 'TYCHO_LOKI_FORMAT=xml' \
    'TYCHO_LOKI_URL=loki:3100' 'TYCHO_LOKI_FLUSH_INTERVAL=soon' \
    'TYCHO_LOKI_STRUCTURED_METADATA=no'; do
    set +e
    out=$(env "$bad" "$DRIVER" status 2>&1)
    rc=$?
    set -e
    [ "$rc" = 2 ] || fail "$bad: exit $rc ($out)"
    printf '%s' "$out" | grep -q "^${bad%%=*}: " || fail "$bad: $out"
    echo "  $bad -> $out"
done
echo "PASS"
