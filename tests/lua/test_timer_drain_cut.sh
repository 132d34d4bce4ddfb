#!/usr/bin/env bash
# SIGTERM while a timer's run goes on past TYCHO_DRAIN_TIMEOUT (docs/routes.md,
# timers, Shutdown): the run is cancelled, tycho exits 0, and the cut is said
# in one warning naming the timer (reason drain_timeout), not left silent.
set -euo pipefail
TYCHO_BIN=${TYCHO_BIN:-tycho}
work=$(mktemp -d)
pid=""
cleanup() {
  [ -n "$pid" ] && kill -KILL "$pid" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
fail() { echo "FAIL: $*"; exit 1; }
mkdir -p "$work/routes"
cat > "$work/routes/r.lua" <<'LUA'
local time = require "tycho.time"
local log = require "tycho.log"
return {
  { "GET", "/x", function() return "x" end },
  timers = {
    { name = "long-job", every = 0.1, handler = function()
        log.info("long job started")
        time.sleep(30)
      end },
  },
}
LUA
TYCHO_DRAIN_TIMEOUT=1 "$TYCHO_BIN" serve --listen 127.0.0.1:0 --admin-listen 127.0.0.1:0 \
  --routes "$work/routes" --workers 1 --no-reload > "$work/log" 2>&1 &
pid=$!
for _ in $(seq 200); do grep -q '"long job started"' "$work/log" 2>/dev/null && break; sleep 0.05; done
grep -q '"long job started"' "$work/log" || fail "the timer never ran: $(head -5 "$work/log")"
kill -TERM "$pid"
rc=0
wait "$pid" || rc=$?
pid=""
[ "$rc" = 0 ] || fail "exit code $rc: $(tail -3 "$work/log")"
/usr/bin/python3 -c '
import json, sys
recs = [json.loads(l) for l in open(sys.argv[1]) if l.startswith("{")]
cut = [r for r in recs if r.get("msg") == "timer run cut by the shutdown"]
assert len(cut) == 1, "want one line about the cut run, got %r" % cut
c = cut[0]
assert c["level"] == "warn" and c["timer"] == "long-job" and c["reason"] == "drain_timeout", c
assert c["handler"].endswith("r.lua:6"), c
print("ok: " + json.dumps(c))' "$work/log" || fail "the cut run was not said: $(tail -5 "$work/log")"
