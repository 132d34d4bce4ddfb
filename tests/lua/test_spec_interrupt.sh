#!/usr/bin/env bash
# SIGINT and SIGTERM during `tycho spec`, against the real binary and a real
# `tycho serve` started by tycho.test.serve: the run stops during the test
# that waits, names it, runs the cleanup hooks, stops the server (its process
# gone, its port free, its data folder removed), skips the rest, prints the
# summary so far and exits 128 + the signal. A second signal while a cleanup
# hook hangs kills the server and exits at once.
set -uo pipefail
# shellcheck source=tests/lib/spec_cli.sh
. "$(dirname "$0")/../lib/spec_cli.sh"
spec_pid=""
cleanup() {
  [ -n "$spec_pid" ] && kill -KILL "$spec_pid" 2>/dev/null
  [ -f "$tmp/server" ] && read -r pid _ <"$tmp/server" && kill -KILL "$pid" 2>/dev/null
  remove_tmp
}
trap cleanup EXIT
mkdir -p r s
printf 'return { ["GET /x"] = function() return "x" end }\n' >r/x.lua

# the spec: a pass, a failure, then a test that starts a server and waits
# (its after_each either notes that it ran or, with HANG set, hangs too)
cat >s/wait_spec.lua <<EOF
local t = require "tycho.test"
local time = require "tycho.time"
local function note(file, text)
  local f = assert(io.open(file, "a"))
  f:write(text, "\\n")
  f:close()
end
describe("interrupt", function()
  after_each(function()
    note("hooks", "after_each")
    if os.rename("server", "server") then -- once the server started
      if os.getenv("HANG") then time.sleep(1e6) end
      if os.getenv("BREAK") then error("after_each broke") end
    end
  end)
  teardown(function() note("hooks", "teardown") end)
  it("passes first", function() end)
  it("fails first", function() assert.equal(1, 2) end)
  it("waits on its server", function()
    local srv = t.serve { routes = "$tmp/r" }
    note("server.tmp", srv.pid .. " " .. srv.port .. " " .. srv.log .. ".data")
    os.rename("server.tmp", "server")
    time.sleep(1e6)
  end)
  it("never runs", function() note("hooks", "never runs") end)
end)
describe("later", function()
  it("never runs either", function() note("hooks", "never runs either") end)
end)
EOF

# start [env...]: tycho spec in the background; waits for its server
start() {
  rm -f server hooks out err
  # not under timeout(1), which sends the signal it is given to its process
  # group too: tycho spec would take it twice (finish bounds the wait)
  env "$@" "${SPEC[@]}" -o TAP s/wait_spec.lua >out 2>err &
  spec_pid=$!
  for _ in $(seq 1 200); do [ -f server ] && return 0; sleep 0.1; done
  return 1
}
# finish: waits for tycho spec to exit -> rc; the server's pid, port, data
finish() {
  local waited=0
  while kill -0 "$spec_pid" 2>/dev/null && [ $waited -lt 300 ]; do sleep 0.1; waited=$((waited + 1)); done
  kill -KILL "$spec_pid" 2>/dev/null # still running 30 s later: rc 137
  wait "$spec_pid"
  rc=$?
  spec_pid=""
  read -r srv_pid srv_port srv_data <server
}
# gone: the server's process ended (or is a zombie), nothing listens on its
# port, its data folder is removed; else says what is left
gone() {
  local left="" state
  state=$(sed 's/^.*) \(.\).*/\1/' "/proc/$srv_pid/stat" 2>/dev/null)
  case "$state" in "" | Z | X) ;; *) left="$left process $srv_pid ($state)" ;; esac
  (exec 3<>"/dev/tcp/127.0.0.1/$srv_port") 2>/dev/null && left="$left port $srv_port bound"
  [ -e "$srv_data" ] && left="$left $srv_data"
  echo "$left"
}

# SIGINT, SIGTERM, and SIGINT with an after_each that fails once the server
# started (busted's own handlers then mean to go on with the next test)
for case in INT TERM INT:BREAK=1; do
  sig=${case%%:*}
  envs=()
  [ "$case" != "$sig" ] && envs=("${case#*:}")
  want=$((128 + $(kill -l "$sig")))
  if ! start "${envs[@]}"; then
    bad "$case: the spec's server never started: $(head -c 500 out) | $(head -c 500 err)"
    continue
  fi
  read -r srv_pid srv_port _ <server
  if ! (exec 3<>"/dev/tcp/127.0.0.1/$srv_port") 2>/dev/null; then
    bad "$case: the server does not listen on $srv_port before the signal"
  fi
  kill "-$sig" "$spec_pid"
  finish
  left=$(gone)
  summary="1 passed, 2 failed"
  [ ${#envs[@]} -gt 0 ] && summary="1 passed, 3 failed"
  if [ $rc -eq $want ] && [ -z "$left" ] &&
     grep -q "^tycho spec: SIG$sig during test 'interrupt waits on its server': stopping the run" err &&
     grep -q "^ok 1 - interrupt passes first" out && grep -q "^not ok 2 - interrupt fails first" out &&
     grep -q "^not ok 3 - interrupt waits on its server" out &&
     grep -q "test 'interrupt waits on its server' interrupted by SIG$sig: the run stops here" out &&
     grep -q "^# s/wait_spec.lua @ 19" out &&
     { [ ${#envs[@]} -eq 0 ] || grep -q "after_each broke" out; } &&
     [ "$(tail -n1 out)" = "$summary" ] && ! grep -q "never runs" out hooks &&
     [ "$(cat hooks)" = "$(printf 'after_each\nafter_each\nafter_each\nteardown')" ]; then
    ok "$case: the waiting test named and failed, cleanup hooks run, the server stopped, the rest skipped, the summary, exit $rc"
  else
    bad "$case: rc=$rc (want $want) left:$left hooks: $(tr '\n' ' ' <hooks 2>/dev/null) | $(head -c 1200 out) | $(head -c 600 err)"
  fi
done

# a second signal: the after_each hangs, so the first one cannot end the run
if start HANG=1; then
  kill -INT "$spec_pid"
  for _ in $(seq 1 100); do [ "$(grep -c after_each hooks 2>/dev/null)" = 3 ] && break; sleep 0.1; done
  sleep 0.3
  kill -INT "$spec_pid"
  finish
  left=$(gone)
  # the data folder is left: the process exits from the signal handler
  left=${left% "$srv_data"}
  rm -rf "$srv_data"
  if [ $rc -eq 130 ] && [ -z "$left" ] &&
     grep -q "^tycho spec: interrupted again: killing the servers tycho.test.serve started, exiting now" err; then
    ok "a second SIGINT while a cleanup hook hangs: the server killed, exit 130 at once"
  else
    bad "second SIGINT: rc=$rc left:$left | $(head -c 600 out) | $(head -c 600 err)"
  fi
else
  bad "second SIGINT: the spec's server never started: $(head -c 500 err)"
fi

# interrupted while tycho.test.serve waits for the server's "listening" line:
# the process it started is stopped too (a stand-in that never listens)
printf '#!/bin/sh\necho $$ >"%s/early.pid"\nexec sleep 1000\n' "$tmp" >never_listens
chmod +x never_listens
cat >s/early_spec.lua <<EOF
describe("early", function()
  it("starts a server that never listens", function()
    require("tycho.test").serve { exe = "$tmp/never_listens", timeout = 1e6 }
  end)
end)
EOF
rm -f early.pid out err
"${SPEC[@]}" -o TAP s/early_spec.lua >out 2>err &
spec_pid=$!
for _ in $(seq 1 100); do [ -s early.pid ] && break; sleep 0.1; done
sleep 0.2
kill -INT "$spec_pid"
waited=0
while kill -0 "$spec_pid" 2>/dev/null && [ $waited -lt 300 ]; do sleep 0.1; waited=$((waited + 1)); done
kill -KILL "$spec_pid" 2>/dev/null
wait "$spec_pid"
rc=$?
spec_pid=""
early=$(cat early.pid 2>/dev/null)
state=$(sed 's/^.*) \(.\).*/\1/' "/proc/$early/stat" 2>/dev/null)
if [ -n "$early" ] && [ $rc -eq 130 ] && case "$state" in "" | Z | X) true ;; *) false ;; esac &&
   grep -q "interrupted by SIGINT: the run stops here" out && [ "$(tail -n1 out)" = "0 passed, 1 failed" ]; then
  ok "SIGINT while tycho.test.serve waits for its server to listen: that process stopped too"
else
  [ -n "$early" ] && kill -KILL "$early" 2>/dev/null
  bad "SIGINT during serve's wait: rc=$rc pid=$early state=$state | $(head -c 600 out) | $(head -c 600 err)"
fi

summary
