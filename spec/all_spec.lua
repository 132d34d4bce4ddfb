-- tycho.all: functions side by side, each a task of its own sharing the
-- caller's request; their first results in argument order; the first error
-- (by argument order) raised again once all have ended; cancelled with the
-- request.
local tycho = require "tycho"
local t = require "tycho.test"
local time = require "tycho.time"
local here = debug.getinfo(1, "S").source:match("^@(.*)/[^/]+$") or "spec"
local basic = dofile(here .. "/fixtures/serve.lua")("basic")

describe("tycho.all", function()
  setup(basic.setup)
  teardown(basic.teardown)

  it("returns each function's first result, in argument order, nils kept", function()
    local a, b, c = tycho.all(function() time.sleep(0.02) return 1, "dropped" end, function() end,
      function() return "x" end)
    assert.equal(1, a)
    assert.is_nil(b)
    assert.equal("x", c)
    assert.equal(3, select("#", tycho.all(function() end, function() end, function() end)))
    assert.equal(0, select("#", tycho.all()))
  end)

  it("runs the functions side by side", function()
    -- the first waits for what the second does after a wait of its own: in
    -- turn, the first would give up after its 200 rounds with nothing seen
    local flag, seen = false, nil
    tycho.all(function()
      for i = 1, 200 do
        if flag then
          seen = i
          return
        end
        time.sleep(0.005)
      end
    end, function()
      time.sleep(0.03)
      flag = true
    end)
    assert.is_number(seen)
  end)

  it("raises the first error by argument order, once every function has ended", function()
    local done = false
    local ok, err = pcall(tycho.all, function()
      time.sleep(0.05)
      error("the first")
    end, function() error("the second, sooner") end, function()
      time.sleep(0.02)
      done = true
    end)
    assert.is_false(ok)
    assert.matches("all_spec.lua:%d+: the first$", err)
    assert.is_true(done)
    local obj = setmetatable({}, { __tostring = function() return "an error object" end })
    local _, got = pcall(tycho.all, function() error(obj) end)
    assert.equal(obj, got)
  end)

  it("runs inside its own functions", function()
    assert.same({ 5, 6 }, {
      tycho.all(function()
        return tycho.all(function()
          time.sleep(0.01)
          return 5
        end)
      end, function() return 6 end),
    })
  end)

  it("refuses what is not a function, and where nothing can wait", function()
    assert.error_matches(function() tycho.all(function() end, 3) end,
      "tycho.all: argument 2 is a number, not a function")
    local many = {}
    for i = 1, 101 do many[i] = function() end end
    assert.error_matches(function() tycho.all(unpack(many)) end, "tycho.all: at most 100 functions, got 101")
    assert.error_matches(function() coroutine.wrap(function() tycho.all(function() end) end)() end,
      "tycho.all: cannot wait here")
  end)

  it("names the line that called it in those errors, not the framework's", function()
    -- f calls tycho.all on the line it is defined on: its error, and where
    -- it should say it was raised; run as a coroutine of the spec's own
    -- (where nothing can wait) when `own`
    local function raised(f, own)
      local ok, err
      if own then
        ok, err = coroutine.resume(coroutine.create(f)) -- the error as raised
      else
        ok, err = pcall(f)
      end
      assert.is_false(ok)
      local at = debug.getinfo(f, "S")
      return err, at.short_src .. ":" .. at.linedefined .. ": "
    end
    local err, at = raised(function() tycho.all(function() end, 3) end)
    assert.equal(at .. "tycho.all: argument 2 is a number, not a function", err)
    local many = {}
    for i = 1, 101 do many[i] = function() end end
    err, at = raised(function() tycho.all(unpack(many)) end)
    assert.equal(at .. "tycho.all: at most 100 functions, got 101", err)
    err, at = raised(function() tycho.all(function() end) end, true)
    local want = at .. "tycho.all: cannot wait here: "
    assert.equal(want, err:sub(1, #want))
  end)

  it("shares the request: its req and the ids of its log lines", function()
    t.capture_logs()
    local res = t.get("/all?x=1", { request_id = "rid-all" })
    local logs = t.logs()
    t.capture_logs(false)
    assert.equal(200, res.status)
    assert.same({ a = "1", b = "GET" }, res.body)
    local line
    for _, l in ipairs(logs) do
      if l.msg == "from a tycho.all function" then line = l end
    end
    assert.is_table(line)
    assert.equal("rid-all", line.request_id)
    assert.equal("/all", line.route)
  end)

  it("fails the request with a function's error", function()
    t.capture_logs()
    local res = t.get("/all-error")
    local logs = t.logs()
    t.capture_logs(false)
    assert.equal(500, res.status)
    assert.matches("basic/api%.lua:%d+: a function failed", logs[#logs].error)
  end)

  it("passes a function's memory error on as one: the request fails over the Lua memory limit", function()
    local before = t.stats().oom
    t.set_limits { memory_limit = t.stats().memory + 16 * 1024 * 1024 }
    t.capture_logs()
    local res = t.get("/all-nomem")
    local logs = t.logs()
    t.capture_logs(false)
    t.set_limits { memory_limit = basic.limits[2] }
    assert.equal(500, res.status)
    assert.equal("handler error: Lua memory limit reached (TYCHO_LUA_MEMORY_LIMIT)", logs[#logs].msg)
    assert.is_true(t.stats().oom > before)
    assert.equal(200, t.get("/all?x=2").status)
  end)

  it("is cancelled with its request: a function still waiting at the handler timeout never goes on", function()
    t.set_limits { handler_timeout = 0.2 }
    local res = t.get("/all-slow")
    t.set_limits { handler_timeout = basic.limits[1] }
    assert.equal(504, res.status)
    time.sleep(0.6) -- past the 0.4 s the function would have slept
    assert.same({ late = false }, t.get("/all-late").body)
  end)

  it("ends as the handler's own timeout when a function runs out of the deadline it shares", function()
    t.set_limits { handler_timeout = 0.2 }
    t.capture_logs()
    local res = t.get("/all-spin")
    local alone = t.get("/all-spin-alone")
    local logs = t.logs()
    t.capture_logs(false)
    t.set_limits { handler_timeout = basic.limits[1] }
    assert.equal(504, res.status)
    assert.equal("handler timeout", res.body.error)
    assert.equal(504, alone.status)
    local timeouts = 0
    for _, l in ipairs(logs) do
      if l.msg == "handler timeout: still waiting after TYCHO_HANDLER_TIMEOUT" then
        timeouts = timeouts + 1
        assert.matches("all", l.traceback) -- where it waited: tycho.all
      end
      assert.are_not.equal("handler error", l.msg)
    end
    assert.equal(2, timeouts)
    time.sleep(0.6) -- past the 0.4 s the waiting function would have slept
    assert.same({ late = false }, t.get("/all-late").body)
  end)
end)
