-- tycho.time, tycho.uuid, tycho.env, tycho.log, the `tycho` aggregate, and
-- system Lua modules.
local t = require "tycho.test"
local here = debug.getinfo(1, "S").source:match("^@(.*)/[^/]+$") or "spec"
local basic = dofile(here .. "/fixtures/serve.lua")("basic")

describe("tycho.time", function()
  local time = require "tycho.time"
  it("tells wall clock and monotonic time", function()
    assert.is_true(math.abs(time.now() - os.time()) < 2)
    local a = time.monotonic()
    time.sleep(0.02)
    assert.is_true(time.monotonic() - a >= 0.019)
  end)
  it("sleep(0) yields once and returns", function()
    time.sleep(0)
  end)
  it("rejects bad durations", function()
    assert.has_error(function() time.sleep(-1) end)
    assert.has_error(function() time.sleep("x") end)
  end)
end)

describe("tycho.uuid", function()
  local uuid = require "tycho.uuid"
  it("makes version 4 UUIDs, all different", function()
    local seen = {}
    for _ = 1, 2000 do
      local u = uuid()
      assert.matches("^%x%x%x%x%x%x%x%x%-%x%x%x%x%-4%x%x%x%-[89ab]%x%x%x%-%x%x%x%x%x%x%x%x%x%x%x%x$", u)
      assert.is_nil(seen[u])
      seen[u] = true
    end
    assert.equal(36, #uuid.v4())
  end)
end)

describe("tycho.env", function()
  local env = require "tycho.env"
  it("reads variables with defaults and types", function()
    assert.equal(os.getenv "HOME", env.HOME)
    assert.equal("dflt", env.get("TYCHO_SPEC_SURELY_UNSET", "dflt"))
    assert.equal(5, env.number("TYCHO_SPEC_SURELY_UNSET", 5))
    assert.is_false(env.bool("TYCHO_SPEC_SURELY_UNSET", false))
    assert.error_matches(function() env.require "TYCHO_SPEC_SURELY_UNSET" end,
      "TYCHO_SPEC_SURELY_UNSET is required")
  end)
end)

describe("tycho.log", function()
  local log = require "tycho.log"
  setup(basic.setup)
  teardown(basic.teardown)

  it("writes JSON lines with typed fields", function()
    t.capture_logs()
    log.warn("hello", { n = 3, f = 1.5, ok = true, s = "x", tbl = { 1, 2 } })
    local line = t.logs()[1]
    t.capture_logs(false)
    assert.equal("warn", line.level)
    assert.equal("hello", line.msg)
    assert.equal(3, line.n)
    assert.equal(1.5, line.f)
    assert.equal(true, line.ok)
    assert.same({ 1, 2 }, line.tbl)
    assert.is_nil(line.request_id)
  end)

  it("attaches the request id and route inside a request", function()
    t.capture_logs()
    t.get("/nested", { request_id = "rid-log" })
    local line = t.logs()[1]
    t.capture_logs(false)
    assert.equal("nested called", line.msg)
    assert.equal("rid-log", line.request_id)
    assert.equal("/nested", line.route)
    assert.same({ a = 1 }, line.obj)
  end)
end)

describe("the tycho table", function()
  it("aggregates the modules", function()
    local tycho = require "tycho"
    assert.equal(require "tycho.json", tycho.json)
    assert.equal(require "tycho.time", tycho.time)
    assert.is_nil(tycho.no_such_module)
  end)
end)

describe("system Lua modules", function()
  it("loads Debian lua-cjson and lua-lpeg C modules with require", function()
    local cjson = require "cjson"
    assert.equal('{"a":1}', cjson.encode { a = 1 })
    local lpeg = require "lpeg"
    assert.equal(4, lpeg.match(lpeg.P "abc", "abcd"))
  end)
  it("runs on LuaJIT with the jit and ffi modules", function()
    assert.is_table(jit)
    assert.equal(-5, require("ffi").new("int", -5))
  end)
end)
