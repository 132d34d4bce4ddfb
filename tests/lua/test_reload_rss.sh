#!/usr/bin/env bash
# 1,000 reloads through POST /-/reload: the process RSS and the Lua heap stay
# flat (each retired generation's lua_State is closed, its timers cancelled).
set -euo pipefail
TYCHO_BIN=${TYCHO_BIN:-tycho}
# shellcheck source=tests/lib/wait.sh
. "$(dirname "$0")/../lib/wait.sh"
work=$(mktemp -d)
server_pid=""
cleanup() {
  [ -n "$server_pid" ] && kill -KILL "$server_pid" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
mkdir -p "$work/routes"
cat > "$work/routes/r.lua" <<'LUA'
local time = require "tycho.time"
local json = require "tycho.json"
local state = { big = string.rep("x", 100000) } -- module state, rebuilt per generation
return {
  { "GET", "/x", function() return { ok = true, n = #state.big } end },
  { "GET", "/slow", function() time.sleep(0.3) return "slow" end },
}
LUA
"$TYCHO_BIN" serve --listen 127.0.0.1:0 --admin-listen 127.0.0.1:0 --routes "$work/routes" \
  --workers 2 --no-reload > "$work/server.log" 2>&1 &
server_pid=$!
wait_until 30 grep -q '"listening"' "$work/server.log" || true
port=$(grep -o '"public":"127.0.0.1:[0-9]*' "$work/server.log" | head -1 | grep -o '[0-9]*$')
admin=$(grep -o '"admin":"127.0.0.1:[0-9]*' "$work/server.log" | head -1 | grep -o '[0-9]*$')
[ -n "$port" ] || { echo "FAIL: server did not start"; cat "$work/server.log"; exit 1; }

# reloads N: N POST /-/reload, one after the other, and every tenth a request
# suspended across the reload on the generation being retired (the client
# gives up: the request is cancelled there). One curl process makes them all,
# in order, from a config file: a process per request cost ~0.1 s each on a
# loaded machine, most of this test's time. Each reload must answer 200.
reloads() {
  local i ok
  for ((i = 1; i <= $1; i++)); do
    if [ $((i % 10)) = 0 ]; then
      printf 'url = "http://127.0.0.1:%s/slow"\nmax-time = 0.05\noutput = "/dev/null"\nnext\n' "$port"
    fi
    printf 'url = "http://127.0.0.1:%s/-/reload"\nrequest = "POST"\noutput = "/dev/null"\nwrite-out = "reload %%{http_code}\\n"\n' "$admin"
    [ "$i" = "$1" ] || echo next
  done > "$work/reloads.curl"
  ok=$(curl -s -K "$work/reloads.curl" | grep -c '^reload 200$' || true)
  [ "$ok" = "$1" ] || { echo "FAIL: $ok of $1 reloads answered 200"; tail -n 5 "$work/server.log"; exit 1; }
}
rss() { ps -o rss= -p "$server_pid" | tr -d ' '; }
lua_mem() { curl -s "http://127.0.0.1:$admin/metrics" | awk '/^tycho_lua_memory_bytes/ { s += $2 } END { print int(s) }'; }
# settled_lua_mem: the Lua heap of both workers once it has stopped changing.
# Right after a burst of reloads the gauge may still count generations on
# their way out (one closes when its last request ends), and each worker
# publishes it only once a second, so a reading may date from the middle of
# the burst. Two readings 2 s apart that agree are neither; a loaded machine
# may need a while to get there (up to 60 s). An idle server's heap does not
# move: one that never settles fails here.
settled_lua_mem() {
  local prev cur i
  prev=$(lua_mem)
  for ((i = 0; i < 30; i++)); do
    sleep 2
    cur=$(lua_mem)
    [ "$cur" = "$prev" ] && { echo "$cur"; return 0; }
    prev=$cur
  done
  echo "FAIL: tycho_lua_memory_bytes still changing 60 s after the reloads (last $cur)" >&2
  return 1
}

reloads 100
lua0=$(settled_lua_mem); rss0=$(rss)
reloads 1000
curl -sf "http://127.0.0.1:$port/x" > /dev/null
lua1=$(settled_lua_mem); rss1=$(rss)
echo "after 100 reloads: rss ${rss0} KiB, lua ${lua0} B; after 1,100: rss ${rss1} KiB, lua ${lua1} B"
fail=0
# Under AddressSanitizer freed memory sits in its quarantine and RSS says
# nothing about leaks (LeakSanitizer checks those at exit), ThreadSanitizer
# keeps shadow memory and histories; the Lua heap and generation checks still
# apply there.
if [ "${TYCHO_SANITIZE:-OFF}" = "OFF" ] && [ $((rss1 - rss0)) -gt 16384 ]; then
  echo "FAIL: RSS grew by $((rss1 - rss0)) KiB over 1,000 reloads"; fail=1
fi
if [ -n "$lua0" ] && [ "$lua0" -gt 0 ] && [ $((lua1 - lua0)) -gt 2097152 ]; then
  echo "FAIL: Lua memory grew by $((lua1 - lua0)) bytes"; fail=1
fi
gen=$(curl -s "http://127.0.0.1:$admin/-/status" | grep -o '"generation":[0-9]*' | grep -o '[0-9]*$')
if [ "${gen:-0}" -lt 1101 ]; then echo "FAIL: generation $gen after 1,100 reloads"; fail=1; fi
grep -q '"level":"error"' "$work/server.log" && { echo "FAIL: errors logged"; grep '"level":"error"' "$work/server.log" | head -3; fail=1; }
kill -TERM "$server_pid"; wait "$server_pid" || true; server_pid=""
if [ "$fail" = 0 ]; then echo "1 passed, 0 failed"; else echo "0 passed, 1 failed"; fi
exit "$fail"
