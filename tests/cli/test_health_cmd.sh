#!/usr/bin/env bash
# `tycho health` (the container health check): 0 on a 2xx, 1 on anything
# else (404, 503 while draining, nothing listening), 2 on bad arguments.
set -euo pipefail
: "${TYCHO_BIN:?}" "${TYCHO_SRC:?}"
work=$(mktemp -d)
pid=""
cleanup() { [ -n "$pid" ] && kill "$pid" 2>/dev/null; wait 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT
fail() { echo "FAIL: $*"; exit 1; }

"$TYCHO_BIN" serve --routes "$TYCHO_SRC/routes" --listen 127.0.0.1:0 --admin-listen 127.0.0.1:0 \
  --workers 1 --data-dir "$work/data" > "$work/serve.log" 2>&1 &
pid=$!
for _ in $(seq 100); do grep -q '"listening"' "$work/serve.log" && break; sleep 0.05; done
pub=$(grep -o '"public":"[^"]*"' "$work/serve.log" | head -1 | cut -d'"' -f4)
[ -n "$pub" ] || fail "tycho did not start"

"$TYCHO_BIN" health --url "http://$pub/health" || fail "healthy server: expected exit 0"
set +e
"$TYCHO_BIN" health --url "http://$pub/no-such-route" 2> "$work/err"; rc=$?
[ "$rc" = 1 ] || fail "404: expected exit 1, got $rc"
grep -q "answered 404" "$work/err" || fail "404: message does not say what was answered: $(cat "$work/err")"
"$TYCHO_BIN" health --bogus 2> /dev/null; rc=$?
[ "$rc" = 2 ] || fail "bad argument: expected exit 2, got $rc"
kill -TERM "$pid"; wait "$pid"; pid=""
"$TYCHO_BIN" health --url "http://$pub/health" --timeout 1 2> "$work/err"; rc=$?
[ "$rc" = 1 ] || fail "nothing listening: expected exit 1, got $rc"
set -e
echo "ok: tycho health exits 0 / 1 / 2 as documented"
