#!/usr/bin/env bash
# A route file that fails the first load (here two files declaring one
# route) stops `tycho serve` at start: exit 1, one line naming both places,
# and nothing the workers read before the failure left behind (under the
# ASan build, LeakSanitizer reported the interned route patterns of the
# failed load).
set -euo pipefail
TYCHO_BIN=${TYCHO_BIN:-tycho}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir "$work/routes"
printf 'return { ["GET /a"] = function() return "a" end }\n' > "$work/routes/a.lua"
printf 'return {\n  ["GET /b"] = function() return "b" end,\n  ["GET /a"] = function() return "b" end,\n}\n' \
  > "$work/routes/b.lua"
rc=0
TYCHO_DATA_DIR="$work/data" "$TYCHO_BIN" serve --routes "$work/routes" --listen 127.0.0.1:0 \
  --admin-listen 127.0.0.1:0 --workers 2 > "$work/out" 2> "$work/err" || rc=$?
fail() { echo "FAIL: $*"; echo "--- stderr:"; head -40 "$work/err"; exit 1; }
[ "$rc" -eq 1 ] || fail "exit status $rc, want 1"
want="$work/routes/b.lua:3: route GET /a is already declared at $work/routes/a.lua:1 (as /a)"
grep -qF "tycho: $want" "$work/err" || fail "no line: tycho: $want"
if grep -q "LeakSanitizer" "$work/err"; then fail "memory left behind"; fi
echo "ok: exit 1, the conflict named, nothing leaked"
