#!/usr/bin/env bash
# The Lua runtime's specs under valgrind memcheck: no invalid access, nothing
# leaked (every generation, coroutine, timer and exchange freed). Only the
# runtime's own spec files: the others may wait on peers, too slow under
# valgrind.
set -euo pipefail
TYCHO_BIN=${TYCHO_BIN:-tycho}
TYCHO_SRC=${TYCHO_SRC:-$(cd "$(dirname "$0")/../.." && pwd)}
if [ "${TYCHO_SANITIZE:-OFF}" != OFF ]; then
  echo "sanitizer build: memcheck does not run under ASan or TSan (the ASan run covers it)"
  echo "0 passed, 0 failed, 1 skipped"
  exit 0
fi
command -v valgrind >/dev/null || { echo "FAIL: valgrind not installed (scripts/setup installs it)"; exit 1; }
cd "$TYCHO_SRC"
log=$(mktemp)
trap 'rm -f "$log"' EXIT
rc=0
valgrind --error-exitcode=99 --leak-check=full --show-leak-kinds=definite,indirect,possible \
  --errors-for-leak-kinds=definite,indirect,possible --log-file="$log" \
  "$TYCHO_BIN" spec --timeout 600 --routes /nonexistent spec/router_spec.lua spec/json_spec.lua \
  spec/request_spec.lua spec/response_spec.lua spec/errors_spec.lua spec/coroutines_spec.lua \
  spec/reload_spec.lua spec/libs_spec.lua spec/stress_spec.lua 2>/dev/null | tail -2 || rc=$?
grep -E "ERROR SUMMARY|in use at exit" "$log" || true
# --timeout 600: each test still runs as a block with a deadline (that code is
# checked too), but valgrind's slowdown cannot make one reach it.
# valgrind's own verdict (exit 99: an invalid access or a leak) is what this
# test is for. A spec that fails only because valgrind runs it 20-50x slower
# (a timing assertion, a handler timeout) is reported but does not fail it:
# the same specs run at full speed in the `spec` test and under ASan.
if [ "$rc" != 0 ] && [ "$rc" != 99 ] && grep -q "ERROR SUMMARY: 0 errors" "$log"; then
  echo "note: a spec failed under valgrind's slowdown (exit $rc); no memory error, no leak"
  rc=0
fi
if [ "$rc" != 0 ]; then
  echo "FAIL: valgrind/spec exit status $rc"
  grep -A25 -E "Invalid|definitely lost|indirectly lost|possibly lost" "$log" | head -80 || true
  echo "0 passed, 1 failed"
  exit 1
fi
echo "1 passed, 0 failed"
