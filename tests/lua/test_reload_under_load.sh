#!/usr/bin/env bash
# Hot reload under load: wrk hammers a route while its file is rewritten 100
# times (alternating two versions, written in place as editors do, each
# defining the route's counter with other labels). Expect zero non-2xx, zero
# socket errors, both versions served, /metrics with the last version's
# series only (and promtool's approval); a syntax error
# mid-way keeps the last good version serving (and shows in /-/status); a
# deleted file's routes disappear; SIGTERM exits 0.
set -euo pipefail
TYCHO_BIN=${TYCHO_BIN:-tycho}
# shellcheck source=tests/lib/wait.sh
. "$(dirname "$0")/../lib/wait.sh"
command -v wrk >/dev/null || { echo "FAIL: wrk not installed (scripts/setup installs it)"; exit 1; }
command -v curl >/dev/null || { echo "FAIL: curl not installed"; exit 1; }
command -v promtool >/dev/null || { echo "FAIL: promtool not installed (Debian package prometheus)"; exit 1; }

work=$(mktemp -d)
server_pid=""
wrk_pid=""
cleanup() {
  [ -n "$wrk_pid" ] && kill -KILL "$wrk_pid" 2>/dev/null || true
  [ -n "$server_pid" ] && kill -KILL "$server_pid" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
mkdir -p "$work/routes"
# status_shows TEXT: /-/status mentions TEXT; answers CODE PATH: GET PATH answers CODE
status_shows() { grep -q "$1" <<<"$(curl -s "http://127.0.0.1:$admin/-/status")"; }
answers() { [ "$(curl -s -o /dev/null -w '%{http_code}' "$base$2")" = "$1" ]; }
# serves V: GET /v answers V (a reload has landed)
serves() { [ "$(curl -s "$base/v")" = "$1" ]; }
# version A|B: the route answers its letter and counts in reload_flip_total,
# whose labels each version defines differently (every reload redefines it)
version() {
  local labels='{ "v" }' values="{ v = \"$1\" }"
  [ "$1" = B ] && labels='{ "v", "w" }' values='{ v = "B", w = "x" }'
  cat > "$work/routes/v.lua" <<LUA
local flips = require("tycho.metrics").counter("reload_flip_total", "Requests by version.", $labels)
return { { "GET", "/v", function() flips:inc($values) return 200, "$1" end } }
LUA
}
version A
printf 'return { { "GET", "/keep", function() return 200, "kept" end } }\n' > "$work/routes/keep.lua"

"$TYCHO_BIN" serve --listen 127.0.0.1:0 --admin-listen 127.0.0.1:0 --routes "$work/routes" \
  --workers 2 > "$work/server.log" 2>&1 &
server_pid=$!
wait_until 30 grep -q "\"listening\"" "$work/server.log" || true
port=$(grep -o '"public":"127.0.0.1:[0-9]*' "$work/server.log" | head -1 | grep -o '[0-9]*$')
admin=$(grep -o '"admin":"127.0.0.1:[0-9]*' "$work/server.log" | head -1 | grep -o '[0-9]*$')
[ -n "$port" ] || { echo "FAIL: server did not start"; cat "$work/server.log"; exit 1; }
base="http://127.0.0.1:$port"
[ "$(curl -s "$base/v")" = A ] || { echo "FAIL: first version not served"; exit 1; }

cat > "$work/count.lua" <<'LUA'
local threads = {}
function setup(thread) table.insert(threads, thread) end
function init() a, b, other = 0, 0, 0 end
function response(status, headers, body)
  if body == "A" then a = a + 1 elseif body == "B" then b = b + 1 else other = other + 1 end
end
function done()
  local A, B, O = 0, 0, 0
  for _, t in ipairs(threads) do A, B, O = A + t:get("a"), B + t:get("b"), O + t:get("other") end
  io.write(("versions A=%d B=%d other=%d\n"):format(A, B, O))
end
LUA
# wrk loads the route for as long as the rewrites go on (about 20 s; the
# duration is only a bound): SIGINT ends it, with its summary, once they end.
wrk -t2 -c16 -d120s -s "$work/count.lua" "$base/v" > "$work/wrk.txt" 2>&1 &
wrk_pid=$!
sleep 0.5

last=A
for i in $(seq 1 100); do
  if [ "$i" = 50 ]; then
    # a syntax error mid-way: the last good version keeps serving. First that
    # version must have landed (a reload, pre-check and both phases, can
    # take longer than the loop's 0.2 s under ASan): else the check reads
    # the broken file and the version before it rightly keeps serving.
    wait_until 10 serves "$last" || { echo "FAIL: version $last never served"; exit 1; }
    printf 'return { { "GET", "/v" function() end } }\n' > "$work/routes/v.lua"
    wait_until 10 status_shows 'v.lua:1' ||
      { echo "FAIL: /-/status lacks the error: $(curl -s "http://127.0.0.1:$admin/-/status")"; exit 1; }
    got=$(curl -s "$base/v")
    [ "$got" = "$last" ] || { echo "FAIL: after a syntax error got '$got', want '$last'"; exit 1; }
  fi
  if [ $((i % 2)) = 1 ]; then last=B; else last=A; fi
  version "$last"
  sleep 0.2
done
kill -INT "$wrk_pid"
wait "$wrk_pid" || { echo "FAIL: wrk failed: $(cat "$work/wrk.txt")"; exit 1; }
wrk_pid=""
cat "$work/wrk.txt"
wait_until 10 serves "$last" || { echo "FAIL: final version is not $last"; exit 1; }
# the metric as the last version defines it, the other version's series gone
curl -s "http://127.0.0.1:$admin/metrics" > "$work/metrics.txt"
flips=$(grep '^reload_flip_total' "$work/metrics.txt" || true)
want='reload_flip_total{v="A"} '
[ "$last" = B ] && want='reload_flip_total{v="B",w="x"} '
if [ "$(wc -l <<<"$flips")" != 1 ] || ! grep -qF "$want" <<<"$flips"; then
  echo "FAIL: /metrics after the last reload has '$flips', want one series $want"
  exit 1
fi
promtool check metrics < "$work/metrics.txt" > "$work/promtool.txt" 2>&1 ||
  { echo "FAIL: promtool check metrics: $(cat "$work/promtool.txt")"; exit 1; }

fail=0
if grep -q "Non-2xx" "$work/wrk.txt"; then echo "FAIL: non-2xx responses during reloads"; fail=1; fi
if grep -q "Socket errors" "$work/wrk.txt"; then echo "FAIL: socket errors during reloads"; fail=1; fi
A=$(sed -n 's/.*versions A=\([0-9]*\).*/\1/p' "$work/wrk.txt")
B=$(sed -n 's/.*versions A=[0-9]* B=\([0-9]*\).*/\1/p' "$work/wrk.txt")
O=$(sed -n 's/.*other=\([0-9]*\).*/\1/p' "$work/wrk.txt")
if [ "${A:-0}" -lt 1 ] || [ "${B:-0}" -lt 1 ]; then echo "FAIL: both versions not observed (A=$A B=$B)"; fail=1; fi
if [ "${O:-1}" != 0 ]; then echo "FAIL: $O unexpected bodies"; fail=1; fi

# a deleted file's routes are removed; the others stay
rm "$work/routes/v.lua"
wait_until 10 answers 404 /v ||
  { echo "FAIL: /v after deleting its file: $(curl -s -o /dev/null -w '%{http_code}' "$base/v"), want 404"; fail=1; }
[ "$(curl -s "$base/keep")" = kept ] || { echo "FAIL: /keep lost"; fail=1; }

kill -TERM "$server_pid"
rc=0
wait "$server_pid" || rc=$?
server_pid=""
[ "$rc" = 0 ] || { echo "FAIL: tycho serve exited $rc on SIGTERM"; fail=1; }
if [ "$fail" = 0 ]; then
  echo "reload under load: 100 rewrites, A=$A B=$B, 0 non-2xx, 0 socket errors"
  echo "1 passed, 0 failed"
else
  echo "0 passed, 1 failed"
fi
exit "$fail"
