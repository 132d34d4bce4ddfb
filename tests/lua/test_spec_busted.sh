#!/usr/bin/env bash
# `tycho spec` as a busted user expects it, against the real binary: hook
# order in nested describes (setup, lazy_setup, strict_setup, before_each,
# after_each, finally, teardown), pending, --filter/--tags/--exclude-tags,
# luassert's assertions (a readable diff for nested tables), spies, stubs and
# mocks, a failing before_each (its file:line, the run goes on), an `it`
# without a function (fails, named, at its line; the curried form works), a
# spec file that does not compile (named, the others run, under TAP and
# gtest too), an empty folder, busted's --lua (refused), --help, and the
# exit status of each.
set -uo pipefail
# shellcheck source=tests/lib/spec_cli.sh
. "$(dirname "$0")/../lib/spec_cli.sh"
mkdir -p s empty

# --- hooks, in busted's order ------------------------------------------------
cat >s/order_spec.lua <<'EOF'
local log = {}
local function note(what) log[#log + 1] = what end
describe("outer", function()
  setup(function() note "setup" end)
  teardown(function() note "teardown"; print("LOG " .. table.concat(log, ",")) end)
  before_each(function() note "be1" end)
  after_each(function() note "ae1" end)
  it("a", function() note "a" end)
  describe("inner", function()
    lazy_setup(function() note "lazy_setup" end)
    lazy_teardown(function() note "lazy_teardown" end)
    strict_setup(function() note "strict_setup" end)
    before_each(function() note "be2" end)
    after_each(function() note "ae2" end)
    it("b", function() note "b" end)
    it("c #fast", function()
      finally(function() note "finally" end)
      note "c"
    end)
  end)
  pending("p")
  it("pends inside", function() pending("later") end)
end)
EOF
spec -o TAP s/order_spec.lua
want="LOG setup,be1,a,ae1,strict_setup,lazy_setup,be1,be2,b,ae2,ae1,be1,be2,c,finally,ae2,ae1,lazy_teardown,be1,ae1,teardown"
if [ $rc -eq 0 ] && grep -qx "$want" out && grep -q "^ok 4 - # SKIP outer p" out &&
   grep -q "^ok 5 - # SKIP s/order_spec.lua:22: later" out && [ "$(tail -n1 out)" = "3 passed, 0 failed" ]; then
  ok "nested describes: setup/teardown, lazy_ and strict_, before_each/after_each, finally in busted's order; pending neither passes nor fails"
else
  bad "hook order: rc=$rc $(head -c 800 out) | $(head -c 300 err)"
fi

# --- choosing tests ------------------------------------------------------------
check_only() { # label want-line... : the TAP lines run, in order
  local label=$1
  shift
  if [ $rc -eq 0 ] && [ "$(grep '^ok' out | grep -v SKIP)" = "$(printf '%s\n' "$@")" ]; then
    ok "$label runs only the matching tests"
  else
    bad "$label: rc=$rc $(head -c 500 out) | $(head -c 300 err)"
  fi
}
spec -o TAP --filter "inner b" s/order_spec.lua
check_only "--filter" "ok 1 - outer inner b"
spec -o TAP --tags fast s/order_spec.lua
check_only "--tags" "ok 1 - outer inner c #fast"
spec -o TAP --exclude-tags fast s/order_spec.lua
check_only "--exclude-tags" "ok 1 - outer a" "ok 2 - outer inner b"

# --- assertions, spies, stubs, mocks -----------------------------------------
cat >s/asserts_spec.lua <<'EOF'
describe("asserts", function()
  it("pass", function()
    assert.has_error(function() error("boom") end, "boom")
    assert.has_error(function() error({ code = 1 }) end, { code = 1 })
    assert.has_no.errors(function() end)
    assert.error_matches(function() error("boom 42") end, "boom %d+")
    assert.is_true(true); assert.is_nil(nil); assert.equals(1, 1); assert.near(1.0, 1.05, 0.1)
    assert.matches("^ab", "abc"); assert.is_not.equal(1, 2); assert.are.same({ 1, { 2 } }, { 1, { 2 } })
  end)
  it("spies, stubs and mocks", function()
    local s = spy.new(function(x) return x * 2 end)
    assert.equal(4, s(2))
    assert.spy(s).was.called(1)
    assert.spy(s).was.called_with(2)
    local t = { f = function() return 1 end }
    stub(t, "f").returns(5)
    assert.equal(5, t.f())
    assert.stub(t.f).was.called()
    t.f:revert()
    assert.equal(1, t.f())
    local m = mock({ g = function() return 3 end })
    m.g()
    assert.spy(m.g).was.called()
    assert.is_true(match.is_number()(3))
  end)
  it("same", function() assert.are.same({ a = { b = { 1, 2, 3 } }, c = "x" }, { a = { b = { 1, 2, 4 } }, c = "x" }) end)
  it("near", function() assert.near(1, 2, 0.1) end)
  it("no error", function() assert.has_no.errors(function() error("inner boom") end) end)
end)
EOF
spec -o TAP s/asserts_spec.lua
if [ $rc -eq 1 ] && grep -q "^ok 1 - asserts pass" out && grep -q "^ok 2 - asserts spies, stubs and mocks" out &&
   grep -q "^# Failure message: s/asserts_spec.lua:26: Expected objects to be the same." out &&
   grep -qF "#      *[3] = 4 } }" out && grep -qF "#      *[3] = 3 } }" out &&
   grep -q "^# Failure message: s/asserts_spec.lua:27: Expected values to be near." out &&
   grep -q "^# Failure message: s/asserts_spec.lua:28: Expected no error, but caught:" out &&
   [ "$(tail -n1 out)" = "2 passed, 3 failed" ]; then
  ok "luassert: the assertions, spies, stubs and mocks work; failures at file:line, a nested diff marked; exit 1"
else
  bad "assertions: rc=$rc $(head -c 1500 out) | $(head -c 300 err)"
fi

# --- errors outside a test -------------------------------------------------------
cat >s/hook_error_spec.lua <<'EOF'
describe("broken", function()
  before_each(function() error("before_each broke") end)
  it("x", function() end)
end)
describe("after it", function()
  it("still runs", function() end)
end)
EOF
spec -o TAP s/hook_error_spec.lua
if [ $rc -eq 1 ] && grep -q "^# Failure message: s/hook_error_spec.lua:2: before_each broke" out &&
   grep -q "^ok 2 - after it still runs" out && [ "$(tail -n1 out)" = "1 passed, 1 failed" ]; then
  ok "an error in before_each: reported at its file:line, the test not run, the run goes on; exit 1"
else
  bad "before_each error: rc=$rc $(head -c 800 out) | $(head -c 300 err)"
fi

# an it (or describe, or hook) without a function: busted registered nothing
cat >s/no_function_spec.lua <<'EOF'
describe("unfinished", function()
  it("forgotten")
  it "curried" (function() end)
  describe("empty")
  test("forgotten too")
  it("runs", function() end)
end)
EOF
spec -o TAP s/no_function_spec.lua
if [ $rc -eq 1 ] && grep -q "^not ok 1 - unfinished forgotten$" out &&
   grep -qF "# Failure message: s/no_function_spec.lua:2: it 'forgotten' has no function: pending(\"forgotten\") marks a test still to write" out &&
   grep -q "^ok 2 - unfinished curried$" out &&
   grep -qF "# Failure message: s/no_function_spec.lua:4: describe 'empty' has no function" out &&
   grep -qF "# Failure message: s/no_function_spec.lua:5: test 'forgotten too' has no function" out &&
   grep -q "^ok 5 - unfinished runs$" out && [ "$(tail -n1 out)" = "2 passed, 3 failed" ]; then
  ok "it/describe/test without a function: fails at its line saying so; the curried form still works"
else
  bad "no function: rc=$rc $(head -c 1200 out) | $(head -c 300 err)"
fi
spec -l s/no_function_spec.lua
if grep -qx "s/no_function_spec.lua:2: unfinished forgotten" out; then
  ok "--list names an it without a function"
else
  bad "--list, no function: rc=$rc $(head -c 500 out) | $(head -c 300 err)"
fi

# --- files -------------------------------------------------------------------------
mkdir -p mixed
printf 'describe("b", function()\n  it("x", function() end\nend)\n' >mixed/a_syntax_spec.lua
printf 'describe("z", function() it("runs", function() end) end)\n' >mixed/z_spec.lua
# TAP and gtest indexed the missing line of busted's report of such a file:
# their error ended the run there, the other files unrun
for fmt in TAP gtest plainTerminal; do
  spec -o $fmt mixed
  if [ $rc -eq 1 ] && grep -q "mixed/a_syntax_spec.lua:3: ')' expected" out && [ ! -s err ] &&
     [ "$(tail -n1 out)" = "1 passed, 1 failed" ]; then
    ok "-o $fmt: a spec file that does not compile: its error at file:line, the other files run, exit 1"
  else
    bad "-o $fmt, syntax error: rc=$rc $(head -c 800 out) | $(head -c 300 err)"
  fi
  spec -o $fmt empty
  if [ $rc -eq 1 ] && grep -q "No test files found matching Lua pattern: _spec" out && [ ! -s err ] &&
     [ "$(tail -n1 out)" = "0 passed, 1 failed" ]; then
    ok "-o $fmt: a folder without spec files: said so, exit 1"
  else
    bad "-o $fmt, empty folder: rc=$rc $(head -c 500 out) | $(head -c 300 err)"
  fi
done

# --- options -------------------------------------------------------------------------
for opt in --lua=luajit "--lua luajit"; do
  # shellcheck disable=SC2086 # two words on purpose
  spec $opt s/order_spec.lua
  if [ $rc -eq 2 ] && grep -qx "tycho spec: --lua: specs run in tycho's own LuaJIT, not in another interpreter" err &&
     ! grep -q "passed," out err; then
    ok "$opt: refused, exit 2"
  else
    bad "$opt: rc=$rc $(head -c 300 out) | $(head -c 300 err)"
  fi
done
printf 'return { default = { lua = "luajit" } }\n' >.busted
spec -o TAP s/order_spec.lua
rm .busted
if [ $rc -eq 0 ] && [ "$(tail -n1 out)" = "3 passed, 0 failed" ]; then
  ok "a .busted file's lua: ignored, the specs run here"
else
  bad ".busted lua: rc=$rc $(head -c 300 out) | $(head -c 300 err)"
fi
spec --help
if [ $rc -eq 0 ] && grep -q "^usage: tycho spec" out && grep -q -- "--filter/--filter-out PATTERN" out &&
   grep -q -- "--exclude-tags" out && grep -q -- "--lua is refused" out; then
  ok "--help: the usage, busted's options named, exit 0"
else
  bad "--help: rc=$rc $(head -c 300 out) | $(head -c 300 err)"
fi

summary
