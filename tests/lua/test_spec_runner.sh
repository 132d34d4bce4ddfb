#!/usr/bin/env bash
# `tycho spec` as CI drives it, against the real binary: the per-test
# --timeout (a waiting test and a busy one fail, naming themselves and the
# limit, and the run goes on; a loop the JIT compiled stops the run with a
# message naming the test, killing the servers specs started), -o junit and
# -o json keep stdout a valid document (the summary goes to stderr; default
# and TAP keep it on stdout), a file of
# pending tests passes under every output, and os.exit or coroutine.yield
# inside a spec says what happened; a memory error a spec's code caught as
# an ordinary one fails its test and the run goes on, its memory collected;
# an option busted refuses exits 2;
# --list lists the tests with no summary (a file that does not load: its
# error, exit 1).
set -uo pipefail
# shellcheck source=tests/lib/spec_cli.sh
. "$(dirname "$0")/../lib/spec_cli.sh"

# --- --timeout -------------------------------------------------------------
mkdir -p s
cat >s/timeout_spec.lua <<'EOF'
describe("limits", function()
  it("waits forever", function() require("tycho.time").sleep(1e6) end)
  it("spins", function() while true do os.clock() end end)
  it("runs after them", function() end)
end)
EOF
spec --timeout 1 -o TAP s/timeout_spec.lua
if [ $rc -eq 1 ] && [ $took -le 10 ] &&
   grep -q "^not ok 1 - limits waits forever" out &&
   grep -q "test 'limits waits forever' timed out: still running after 1 s (tycho spec --timeout)" out &&
   grep -q "^not ok 2 - limits spins" out && grep -q "test 'limits spins' timed out" out &&
   grep -q "^ok 3 - limits runs after them" out && grep -qx "1 passed, 2 failed" out; then
  ok "--timeout 1: the waiting and the busy test fail, named, and the run goes on (${took}s)"
else
  bad "--timeout 1: rc=$rc after ${took}s: $(head -c 800 out) | $(head -c 300 err)"
fi

# memory errors a spec's code turned into ordinary ones: a route that fills
# the state to its limit under a pcall (its garbage holds the memory), one
# whose single big allocation is refused under a pcall (the request answers
# 200), and a spec holding the memory at the limit itself. Each fails its
# test, named; the memory is collected after each (a later test allocates
# 256 KiB under the same 1 MiB limit), busted's own code is not held to the
# limit, and the run goes on to its end and the next file. It used to stop
# at the first: 'tycho spec: the run stopped: not enough memory'.
mkdir -p m
cat >m/oom.lua <<'EOF'
return {
  ["GET /oom"] = function()
    local ok, e = pcall(function() local t = {} for i = 1, 1e7 do t[i] = { i } end end)
    error(e, 0)
  end,
  ["GET /caught"] = function()
    local ok = pcall(string.rep, "x", 64 * 1024 * 1024)
    return { caught = not ok }
  end,
}
EOF
cat >s/oom_spec.lua <<'EOF'
local t = require "tycho.test"
local held
describe("oom", function()
  setup(function() assert(t.use_routes("m")) end)
  before_each(function() t.set_limits { memory_limit = t.stats().memory + 1024 * 1024 } end)
  it("passes first", function() end)
  it("meets the memory limit in a route", function() t.get("/oom") end)
  it("allocates after the route", function() assert(#("a"):rep(256 * 1024) > 0) end)
  it("has a big allocation caught in a route", function()
    assert.same({ caught = true }, t.get("/caught").body)
  end)
  it("allocates after the caught one", function() assert(#("b"):rep(256 * 1024) > 0) end)
  it("holds the memory at the limit", function()
    held = {}
    pcall(function() for i = 1, 1e7 do held[i] = { i } end end)
  end)
end)
describe("after it", function()
  -- a describe body runs outside the limit (busted's run): it lets go
  held = nil
  t.set_limits { memory_limit = 0 }
  it("allocates", function() assert(#("c"):rep(256 * 1024) > 0) end)
end)
EOF
cat >s/oom_after_spec.lua <<'EOF'
it("the next file runs", function() end)
EOF
spec -o TAP s/oom_spec.lua s/oom_after_spec.lua
caught="met the Lua memory limit \([0-9]+ allocations refused\) and no memory error came out of it: caught as an ordinary error"
if [ $rc -eq 1 ] && grep -q "^5 passed, 3 failed$" out && ! grep -q "run stopped" err &&
   grep -q "^ok 1 - oom passes first" out &&
   grep -q "^not ok 2 - oom meets the memory limit in a route$" out &&
   grep -q "^ok 3 - oom allocates after the route" out &&
   grep -Eq "^# Failure message: s/oom_spec.lua:9: test 'oom has a big allocation caught in a route' $caught" out &&
   grep -q "^ok 5 - oom allocates after the caught one" out &&
   grep -Eq "^# Failure message: s/oom_spec.lua:13: test 'oom holds the memory at the limit' $caught" out &&
   grep -q "^ok 7 - after it allocates" out && grep -q "^ok 8 - the next file runs" out; then
  ok "memory errors a spec turned into ordinary ones: each fails its test, the memory is collected, the run goes on"
else
  bad "memory errors caught by a spec: rc=$rc $(head -c 1500 out) | $(grep -v '"level"' err | head -c 600)"
fi

cat >s/hook_spec.lua <<'EOF'
describe("hooks", function()
  before_each(function() require("tycho.time").sleep(1e6) end)
  it("never starts", function() end)
end)
EOF
spec --timeout=500ms -o TAP s/hook_spec.lua
if [ $rc -eq 1 ] && grep -q "before_each of 'hooks' timed out: still running after 0.5 s" out; then
  ok "--timeout applies to a before_each"
else
  bad "--timeout on a before_each: rc=$rc $(head -c 600 out) | $(head -c 300 err)"
fi

cat >s/jit_spec.lua <<'EOF'
describe("jit", function()
  it("passes first", function() end)
  it("loops compiled", function() local x = 0 while true do x = x + 1 end end)
end)
EOF
spec --timeout 1 -o TAP s/jit_spec.lua
if [ $rc -ne 0 ] && [ $rc -ne 124 ] && [ $took -le 10 ] && grep -q "^ok 1 - jit passes first" out &&
   grep -q "tycho spec: test 'jit loops compiled': still running .* past its 1 s timeout" err; then
  ok "a loop the JIT compiled stops the run, naming the test (rc=$rc, ${took}s)"
else
  bad "JIT loop: rc=$rc after ${took}s: $(head -c 300 out) | $(head -c 500 err)"
fi

# the stuck run ends the process: the servers tycho.test.serve started die with it
mkdir -p r
printf 'return { ["GET /x"] = function() return "x" end }\n' >r/x.lua
cat >s/jit_server_spec.lua <<EOF
describe("jit", function()
  it("loops compiled with a server up", function()
    local srv = require("tycho.test").serve { routes = "$tmp/r" }
    local f = assert(io.open("jit_server", "w"))
    f:write(srv.pid, "\\n")
    f:close()
    local x = 0 while true do x = x + 1 end
  end)
end)
EOF
rm -f jit_server
spec --timeout 5 -o TAP s/jit_server_spec.lua # time for the server to start (ASan)
srv_pid=$(cat jit_server 2>/dev/null)
sleep 0.2 # SIGKILL is sent, not waited for
state=$(sed 's/^.*) \(.\).*/\1/' "/proc/$srv_pid/stat" 2>/dev/null)
if [ -n "$srv_pid" ] && [ $rc -eq 1 ] && case "$state" in "" | Z | X) true ;; *) false ;; esac &&
   grep -q "tycho spec: test 'jit loops compiled with a server up': still running" err; then
  ok "a loop the JIT compiled stops the run: the server a spec started is killed too"
else
  [ -n "$srv_pid" ] && kill -KILL "$srv_pid" 2>/dev/null
  bad "JIT loop with a server: rc=$rc pid=$srv_pid state=$state | $(head -c 300 out) | $(head -c 500 err)"
fi

spec --timeout soon s/jit_spec.lua
if [ $rc -eq 2 ] && grep -q "^tycho spec: --timeout: not a duration: soon" err; then
  ok "--timeout soon: exit 2"
else
  bad "--timeout soon: rc=$rc $(cat err)"
fi

# a bare coroutine.yield() fails its test alone, with or without a limit
cat >s/yield_spec.lua <<'EOF'
describe("yield", function()
  it("yields", function() coroutine.yield() end)
  it("runs after it", function() end)
end)
EOF
for limit in 0 60; do
  spec --timeout $limit -o TAP s/yield_spec.lua
  if [ $rc -eq 1 ] && grep -q "^not ok 1 - yield yields" out && grep -q "^# s/yield_spec.lua @ 2" out &&
     grep -qF "yield_spec.lua:2: coroutine.yield() outside a coroutine of your own is not allowed here (use tycho.time.sleep(0)" out && grep -q "^ok 2 - yield runs after it" out &&
     grep -qx "1 passed, 1 failed" out; then
    ok "--timeout $limit: coroutine.yield() in a test fails that test, at its line; the run goes on"
  else
    bad "--timeout $limit, yield: rc=$rc $(head -c 600 out) | $(head -c 300 err)"
  fi
done

# --- output formats ----------------------------------------------------------
cat >s/mixed_spec.lua <<'EOF'
describe("mixed", function()
  it("passes", function() end)
  it("fails", function() assert.are.equal(1, 2) end)
  pending("later")
end)
EOF
valid() { # format file
  /usr/bin/python3 - "$@" <<'EOF'
import json, sys, xml.dom.minidom
fmt, path = sys.argv[1], sys.argv[2]
with open(path) as f:
    text = f.read()
json.loads(text) if fmt == "json" else xml.dom.minidom.parseString(text)
EOF
}
for fmt in junit json; do
  spec -o $fmt s/mixed_spec.lua
  if [ $rc -eq 1 ] && valid $fmt out 2>/dev/null && grep -qx "1 passed, 1 failed" err &&
     ! grep -q "passed," out; then
    ok "-o $fmt: stdout is one valid document, the summary on stderr"
  else
    bad "-o $fmt: rc=$rc, valid=$(valid $fmt out 2>&1 | tail -1), stdout tail: $(tail -c 200 out) | stderr: $(head -c 300 err)"
  fi
done
for fmt in TAP plainTerminal; do
  spec -o $fmt s/mixed_spec.lua
  if [ $rc -eq 1 ] && [ "$(tail -n1 out)" = "1 passed, 1 failed" ]; then
    ok "-o $fmt: the summary ends stdout"
  else
    bad "-o $fmt: rc=$rc, stdout tail: $(tail -n2 out)"
  fi
done

echo "describe('x', function() pending('later') end)" >s/pending_spec.lua
for fmt in json junit TAP plainTerminal; do
  spec -o $fmt s/pending_spec.lua
  if [ $rc -eq 0 ] && grep -qx "0 passed, 0 failed" out err && { [ $fmt != json ] || valid json out; }; then
    ok "-o $fmt: a file of pending tests passes"
  else
    bad "-o $fmt, pending only: rc=$rc $(head -c 300 out) | $(head -c 300 err)"
  fi
done

# --- options busted refuses ----------------------------------------------------
spec --no-such-flag s/mixed_spec.lua
if [ $rc -eq 2 ] && grep -q "unknown/bad flag: --no-such-flag" err && ! grep -q "passed," out err; then
  ok "an unknown option: exit 2, busted's message, no summary"
else
  bad "unknown option: rc=$rc $(head -c 300 out) | $(head -c 300 err)"
fi
spec -C "$tmp/none" s/mixed_spec.lua
if [ $rc -eq 2 ] && grep -q "$tmp/none" err && ! grep -q "passed," out err; then
  ok "-C to a missing directory: exit 2, no summary"
else
  bad "-C missing: rc=$rc $(head -c 300 out) | $(head -c 300 err)"
fi
spec --version
if [ $rc -eq 0 ] && grep -qx "[0-9.]*" out && ! grep -q "passed," out err; then
  ok "--version: busted's version alone"
else
  bad "--version: rc=$rc $(head -c 300 out) | $(head -c 300 err)"
fi

for flag in -l --list; do
  spec $flag s/mixed_spec.lua
  if [ $rc -eq 0 ] && grep -qx "s/mixed_spec.lua:2: mixed passes" out &&
     grep -qx "s/mixed_spec.lua:3: mixed fails" out && ! grep -q "passed," out err; then
    ok "$flag: the tests listed, not run: exit 0, no summary"
  else
    bad "$flag: rc=$rc $(head -c 300 out) | $(head -c 300 err)"
  fi
done

mkdir -p broken
printf 'describe("b", function()\n  it("x", function() end\nend)\n' >broken/syntax_spec.lua
spec -l broken/syntax_spec.lua s/mixed_spec.lua
if [ $rc -eq 1 ] && grep -q "tycho spec: broken/syntax_spec.lua:3: ')' expected" err &&
   grep -q "s/mixed_spec.lua:2: mixed passes$" out && ! grep -q "passed," out err; then
  ok "-l with a file that does not load: its error on stderr, exit 1, the others listed"
else
  bad "-l broken: rc=$rc $(head -c 300 out) | $(head -c 300 err)"
fi

echo 'return {}' >routes_file.lua
timeout 60 "$BIN" spec --routes "$tmp/routes_file.lua" s/mixed_spec.lua >out 2>err
rc=$?
if [ $rc -ne 0 ] && grep -q "routes_file.lua: not a directory: the routes setting takes the folder" err &&
   ! grep -q "passed," out err; then
  ok "--routes naming a file: said so, no run"
else
  bad "--routes file: rc=$rc $(head -c 300 out) | $(head -c 300 err)"
fi

# --- os.exit -----------------------------------------------------------------
cat >s/exit_spec.lua <<'EOF'
describe("exit", function()
  it("calls os.exit", function() os.exit(0) end)
  it("runs after it", function() end)
end)
EOF
spec -o TAP s/exit_spec.lua
if [ $rc -eq 1 ] && grep -q "s/exit_spec.lua:2: os.exit(0) called: os.exit is not available inside specs" out &&
   ! grep -q "code = 0" out && grep -q "^ok 2 - exit runs after it" out; then
  ok "os.exit in a spec: the test fails saying so, the run goes on"
else
  bad "os.exit: rc=$rc $(head -c 500 out) | $(head -c 300 err)"
fi
printf 'os.exit(0)\n' >s/exit_top_spec.lua
spec s/exit_top_spec.lua
if [ $rc -eq 1 ] && grep -q "^Error -> s/exit_top_spec.lua @ 1$" out &&
   grep -q "s/exit_top_spec.lua:1: os.exit(0) called" out && ! grep -q "spec_runner.lua" out; then
  ok "os.exit at a spec file's top level: reported at the file's line"
else
  bad "os.exit at the top level: rc=$rc $(head -c 500 out) | $(head -c 300 err)"
fi

# --- tycho.test.serve's servers end with the run ---------------------------
# a spec that fails between t.serve and srv:stop() (and one that never stops
# its server) must not leave a tycho serve running, nor its data folder
# (routes: r/, made for the JIT case above)
cat >s/orphan_spec.lua <<EOF
local t = require "tycho.test"
local function keep(srv)
  local f = assert(io.open("servers", "a"))
  f:write(srv.pid, " ", srv.log, ".data\\n")
  f:close()
end
describe("servers", function()
  it("fails before its stop", function()
    local srv = t.serve { routes = "$tmp/r" }
    keep(srv)
    assert.equal(1, 2)
    srv:stop()
  end)
  it("never stops its server", function() keep(t.serve { routes = "$tmp/r" }) end)
end)
EOF
rm -f servers
spec s/orphan_spec.lua
left=""
while read -r pid data; do
  state=$(sed 's/^.*) \(.\).*/\1/' "/proc/$pid/stat" 2>/dev/null)
  case "$state" in "" | Z | X) ;; *) left="$left server $pid ($state)"; kill "$pid" ;; esac
  [ -e "$data" ] && left="$left $data" && rm -rf "$data"
done <servers
if [ $rc -eq 1 ] && [ "$(wc -l <servers)" -eq 2 ] && grep -qx "1 passed, 1 failed" out && [ -z "$left" ]; then
  ok "servers tycho.test.serve started and no spec stopped: stopped, their data gone, at the end of the run"
else
  bad "servers left by specs: rc=$rc left:$left | $(head -c 300 out) | $(head -c 300 err)"
fi

summary
