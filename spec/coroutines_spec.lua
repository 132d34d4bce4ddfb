-- Requests run in coroutines: waiting bindings yield to the loop, what may
-- yield, cancellation on disconnect, the handler timeout and the memory cap.
local t = require "tycho.test"
local time = require "tycho.time"
local here = debug.getinfo(1, "S").source:match("^@(.*)/[^/]+$") or "spec"
local basic = dofile(here .. "/fixtures/serve.lua")("basic")

describe("request coroutines", function()
  setup(basic.setup)
  teardown(basic.teardown)

  it("sleeps without blocking other requests", function()
    local start = time.monotonic()
    local pending = {}
    for i = 1, 10 do pending[i] = t.start("GET", "/sleep/100") end
    for i = 1, 10 do assert.same({ slept = 100 }, pending[i]:wait().body) end
    local took = time.monotonic() - start
    assert.is_true(took >= 0.095, "took " .. took)
    assert.is_true(took < 0.5, "10 concurrent 100 ms sleeps took " .. took .. " s")
  end)

  it("serves a fast request while a slow one waits", function()
    local slow = t.start("GET", "/sleep/200")
    local fast = t.get("/users/1")
    assert.equal(200, fast.status)
    assert.is_false(slow:done())
    assert.equal(200, slow:wait().status)
  end)

  it("reuses coroutines across requests", function()
    for _ = 1, 50 do assert.equal(200, t.get("/users/1").status) end
    assert.equal(0, t.stats().inflight) -- nothing left running
  end)

  describe("what may yield (LuaJIT 2.1)", function()
    it("yields across pcall, including an error after the yield", function()
      assert.same({ ok = true, v = "inside pcall" }, t.get("/yield/pcall").body)
      assert.same({ ok = false, err = "after sleep" }, t.get("/yield/error-in-pcall").body)
    end)

    it("yields inside metamethods and iterators", function()
      assert.same({ v = "x!" }, t.get("/yield/metamethod").body)
      assert.same({ seen = { 1, 2, 3 } }, t.get("/yield/iterator").body)
    end)

    it("fails cleanly across a C call boundary (table.sort comparator)", function()
      t.capture_logs()
      local res = t.get("/yield/c-boundary")
      local logs = t.logs()
      t.capture_logs(false)
      assert.equal(500, res.status)
      assert.matches("attempt to yield across C%-call boundary", logs[1].error)
      local caught = t.get("/yield/c-boundary-caught").body
      assert.is_false(caught.ok)
      assert.matches("C%-call boundary", caught.err)
    end)

    it("refuses to wait inside a coroutine the handler created, and bare yields", function()
      t.capture_logs()
      assert.equal(500, t.get("/yield/nested-coroutine").status)
      assert.equal(500, t.get("/yield/bare").status)
      local logs = t.logs()
      t.capture_logs(false)
      assert.matches("cannot wait here", logs[1].error)
      assert.matches("coroutine.yield() outside a coroutine of your own is not allowed here (use "
        .. "tycho.time.sleep(0) to let other requests run)", logs[2].error, 1, true)
    end)
  end)

  it("cancels a suspended request when its client goes away", function()
    local before = t.stats().inflight
    local p = t.start("GET", "/sleep/5000")
    assert.equal(before + 1, t.stats().inflight)
    assert.is_true(p:cancel())
    assert.equal(before, t.stats().inflight)
    time.sleep(0.01) -- the cancelled timer never resumes anything
    assert.equal(200, t.get("/users/1").status)
  end)

  it("answers 504 when a suspended handler passes the handler timeout", function()
    t.set_limits { handler_timeout = 0.2 }
    t.capture_logs()
    local start = time.monotonic()
    local res = t.get("/sleep/3000", { request_id = "rid-slow" })
    local logs = t.logs()
    t.capture_logs(false)
    t.set_limits { handler_timeout = basic.limits[1] }
    assert.equal(504, res.status)
    assert.same({ error = "handler timeout", request_id = "rid-slow" }, res.body)
    assert.is_true(time.monotonic() - start < 1.5)
    assert.equal("warn", logs[1].level)
    assert.equal("/sleep/:ms", logs[1].route)
  end)

  it("interrupts a handler that runs past the timeout without yielding (interpreted code)", function()
    t.set_limits { handler_timeout = 0.3 }
    t.capture_logs()
    local res = t.get("/spin/5")
    local res2 = t.get("/spin-caught/5") -- swallows errors with pcall: still stopped
    local res3 = t.get("/spin-jit/5")    -- JIT on, the loop calls os.clock()
    local logs = t.logs()
    t.capture_logs(false)
    t.set_limits { handler_timeout = basic.limits[1] }
    assert.equal(504, res.status)
    assert.equal(504, res2.status)
    assert.equal(504, res3.status)
    assert.matches("handler timeout", logs[1].msg)
    assert.is_true(t.stats().cpu_timeouts >= 3)
    assert.equal(200, t.get("/users/1").status)
  end)

  it("fails a request over the Lua memory limit, not the process", function()
    local used = t.stats().memory
    t.set_limits { memory_limit = used + 16 * 1024 * 1024 }
    t.capture_logs()
    local res = t.get("/alloc/64")
    local logs = t.logs()
    t.capture_logs(false)
    assert.equal(500, res.status)
    assert.matches("memory limit", logs[1].msg)
    assert.equal(200, t.get("/alloc/2").status) -- small requests still work
    t.set_limits { memory_limit = basic.limits[2] }
    assert.is_true(t.stats().oom >= 1)
  end)

  it("fails only the request over the memory limit, not the next one", function()
    t.set_limits { memory_limit = t.stats().memory + 16 * 1024 * 1024 }
    t.capture_logs()
    local res = t.get("/alloc-forever")
    local after = t.request("GET", "/echo", { body = { a = 1 } })
    local logs = t.logs()
    t.capture_logs(false)
    t.set_limits { memory_limit = basic.limits[2] }
    assert.equal(500, res.status)
    assert.equal(200, after.status) -- its garbage was collected once it was unreferenced
    assert.equal(1, #logs)
    assert.matches("memory limit", logs[1].msg)
  end)

  it("reports a module required inside a handler that meets the memory limit as out of memory", function()
    local folder = dofile(here .. "/fixtures/folder.lua")
    local dir = folder.new {
      ["lazy.lua"] = [[
return { ["GET /lazy"] = function() return require("_lazy_big").n end }
]],
      ["_lazy_big.lua"] = [[
local t, i = {}, 0
while true do i = i + 1; t[i] = ("m"):rep(100) .. i end
]],
    }
    local routes = t.routes_dir()
    assert(t.use_routes(dir))
    local oom, before = t.stats().oom, t.stats().memory
    t.set_limits { memory_limit = before + 16 * 1024 * 1024 }
    t.capture_logs()
    local res = t.get("/lazy")
    local logs = t.logs()
    t.capture_logs(false)
    local stats = t.stats()
    t.set_limits { memory_limit = basic.limits[2] }
    assert(t.use_routes(routes))
    folder.remove(dir)
    assert.equal(500, res.status)
    assert.equal(1, #logs)
    assert.equal("handler error: Lua memory limit reached (TYCHO_LUA_MEMORY_LIMIT)", logs[1].msg)
    assert.equal(oom + 1, stats.oom)
    -- the full GC after it ran: the failed load's garbage is gone
    assert.is_true(stats.memory < before + 8 * 1024 * 1024, "memory " .. stats.memory - before)
  end)

  -- Serves the route files `files` (a folder of its own) and GETs path with
  -- the Lua memory limit 16 MiB above what is in use: the status, the log
  -- lines, and stats before and after.
  local function get_near_limit(files, path)
    local folder = dofile(here .. "/fixtures/folder.lua")
    local dir = folder.new(files)
    local routes = t.routes_dir()
    assert(t.use_routes(dir))
    local before = t.stats()
    t.set_limits { memory_limit = before.memory + 16 * 1024 * 1024 }
    t.capture_logs()
    local res = t.get(path)
    local logs = t.logs()
    t.capture_logs(false)
    local after = t.stats()
    t.set_limits { memory_limit = basic.limits[2] }
    assert(t.use_routes(routes))
    folder.remove(dir)
    return res, logs, before, after
  end

  -- The request failed with a memory error and the scheduler took it for
  -- one: reported, counted (stats().oom) and collected after.
  local function assert_reported_as_oom(res, logs, before, after)
    assert.equal(500, res.status)
    assert.equal(1, #logs)
    assert.equal("handler error: Lua memory limit reached (TYCHO_LUA_MEMORY_LIMIT)", logs[1].msg)
    assert.equal(before.oom + 1, after.oom)
    -- the full GC after it ran: the failed request's garbage is gone
    assert.is_true(after.memory < before.memory + 8 * 1024 * 1024, "memory " .. after.memory - before.memory)
  end

  it("reports a json.encode whose text meets the memory limit as out of memory, leaking nothing", function()
    -- the text (32 MiB) is built outside Lua's heap, then pushed as a string:
    -- the memory error unwinds past json.encode (memcheck and ASan see a leak)
    local res, logs, before, after = get_near_limit({ ["json.lua"] = [[
local json = require "tycho.json"
return { ["GET /encode-big"] = function()
  local mib, list = ("j"):rep(1024 * 1024), {}
  for i = 1, 32 do list[i] = mib end
  return json.encode(list)
end }
]] }, "/encode-big")
    assert_reported_as_oom(res, logs, before, after)
  end)

  it("reports a lazily loaded tycho.* module that meets the memory limit as out of memory", function()
    -- tycho.fill is found under _lib (a folder the loader skips) on the
    -- path the route file adds; require("tycho").fill loads it
    local res, logs, before, after = get_near_limit({
      ["lazy.lua"] = [[
local dir = debug.getinfo(1, "S").source:match("^@(.*)/[^/]+$")
package.path = dir .. "/_lib/?.lua;" .. package.path
return { ["GET /lazy-tycho"] = function() return { n = require("tycho").fill } end }
]],
      ["_lib/tycho/fill.lua"] = [[
local t, i = {}, 0
while true do i = i + 1; t[i] = ("m"):rep(100) .. i end
]],
    }, "/lazy-tycho")
    assert_reported_as_oom(res, logs, before, after)
  end)

  it("reports a tycho.dynamodb call whose parameters meet the memory limit as out of memory", function()
    -- 400k numbers (4 MiB here) marshal to 400k AttributeValue tables
    local res, logs, before, after = get_near_limit({ ["ddb.lua"] = [[
local ddb = require "tycho.dynamodb"
local items = ddb.table("tycho-spec-never-reached")
return { ["GET /ddb-big"] = function()
  local list = {}
  for i = 1, 400000 do list[i] = i end
  items:put { id = "x", list = list }
end }
]] }, "/ddb-big")
    assert_reported_as_oom(res, logs, before, after)
  end)

  it("reports an sqs batch entry whose body meets the memory limit as out of memory", function()
    -- the body encodes to 32 MiB of JSON: past the limit in json.encode
    local res, logs, before, after = get_near_limit({ ["sqs.lua"] = [[
local sqs = require "tycho.sqs"
local q = sqs.queue("http://127.0.0.1:9/000000000000/tycho-spec-never-reached")
return { ["GET /sqs-big"] = function()
  local mib, body = ("b"):rep(1024 * 1024), {}
  for i = 1, 32 do body[i] = mib end
  return q:send_batch { "small", { body = body } }
end }
]] }, "/sqs-big")
    assert_reported_as_oom(res, logs, before, after)
  end)

  it("ends a trace.span that meets the memory limit as failed, and reports the request as out of memory", function()
    t.spans() -- drops the spans of earlier tests
    local res, logs, before, after = get_near_limit({ ["span.lua"] = [[
local trace = require "tycho.trace"
return { ["GET /span-fill"] = function()
  return trace.span("fill", function()
    local t, i = {}, 0
    while true do i = i + 1; t[i] = ("s"):rep(100) .. i end
  end)
end }
]] }, "/span-fill")
    assert_reported_as_oom(res, logs, before, after)
    local fill, names = nil, {}
    for _, s in ipairs(t.spans()) do
      names[#names + 1] = s.name
      if s.name == "fill" then fill = s end
    end
    assert.is_table(fill, "no span named fill among: " .. table.concat(names, ", "))
    assert.equal("ERROR", fill.status)
    assert.equal("not enough memory", fill.status_message)
    assert.is_nil(fill.attributes["tycho.span.closed_by_server"]) -- trace.span ended it
  end)

  it("reports an error object whose __tostring meets the memory limit as out of memory, in log, record_error and trace.span", function()
    -- each reads the object as an error message (tycho_lua_trace_describe),
    -- calling its __tostring in a protected call: the memory error met there
    -- is passed on, not read as "(error object is a table value)". One
    -- allocation of 64 MiB is refused, leaving the memory free: with the
    -- error swallowed, the log line went out, record_error answered 200 and
    -- trace.span's error was a plain handler error
    local routes = [[
local log = require "tycho.log"
local trace = require "tycho.trace"
local function filling()
  return setmetatable({}, { __tostring = function() return ("d"):rep(64 * 1024 * 1024) end })
end
return {
  ["GET /describe/log"] = function() log.error(filling()); return "logged" end,
  ["GET /describe/record"] = function() trace.current():record_error(filling()); return "recorded" end,
  ["GET /describe/span"] = function() return trace.span("fails", function() error(filling()) end) end,
}
]]
    for _, path in ipairs { "/describe/log", "/describe/record", "/describe/span" } do
      local res, logs, before, after = get_near_limit({ ["describe.lua"] = routes }, path)
      local ok, err = pcall(assert_reported_as_oom, res, logs, before, after)
      assert(ok, path .. ": " .. tostring(err))
    end
  end)

  it("under tycho serve, reports a request that meets the memory limit inside trace.span as out of memory", function()
    local http = require "tycho.http"
    local json = require "tycho.json"
    local folder = dofile(here .. "/fixtures/folder.lua")
    local dir = folder.new { ["s.lua"] = [[
      local trace = require "tycho.trace"
      return {
        ["GET /fill"] = function()
          return trace.span("fill", function()
            local t, i = {}, 0
            while true do i = i + 1; t[i] = ("s"):rep(100) .. i end
          end)
        end,
      }]] }
    local srv = t.serve { routes = dir, workers = 1, args = { "--lua-memory-limit", "33554432" },
                          env = { TYCHO_DATA_DIR = dir .. "/.data", SQS_CONSUMER = "off" } }
    finally(function()
      srv:stop()
      folder.remove(dir)
    end)
    assert.equal(500, (http.get(srv.url "/fill")))
    local function fill_error(rec) return rec.route == "/fill" and rec.level == "error" end
    local server_log = dofile(here .. "/fixtures/server_log.lua")
    local failed = server_log.select(server_log.wait(srv, function(recs)
      return server_log.select(recs, fill_error)[1]
    end), fill_error)[1]
    assert.is_table(failed)
    assert.equal("handler error: Lua memory limit reached (TYCHO_LUA_MEMORY_LIMIT)", failed.msg)
  end)

  it("logs where a handler waits when it times out waiting", function()
    local folder = dofile(here .. "/fixtures/folder.lua")
    local dir = folder.new { ["w.lua"] = [[
local time = require "tycho.time"
local function fetch() time.sleep(60) end
return { ["GET /stuck"] = function() fetch() return "never" end }
]] }
    local routes = t.routes_dir()
    assert(t.use_routes(dir))
    t.set_limits { handler_timeout = 0.2 }
    t.capture_logs()
    local res = t.get("/stuck")
    local logs = t.logs()
    t.capture_logs(false)
    t.set_limits { handler_timeout = basic.limits[1] }
    assert(t.use_routes(routes))
    folder.remove(dir)
    assert.equal(504, res.status)
    assert.equal(1, #logs)
    assert.equal("handler timeout: still waiting after TYCHO_HANDLER_TIMEOUT", logs[1].msg)
    assert.matches("in function 'sleep'", logs[1].traceback) -- the call that never answered
    assert.matches("w%.lua:2: in function 'fetch'", logs[1].traceback)
    assert.matches("w%.lua:3: in function <", logs[1].traceback)
  end)

  it("says so when memory kept between requests holds half the limit or more", function()
    local folder = dofile(here .. "/fixtures/folder.lua")
    local dir = folder.new { ["keep.lua"] = [[
local kept = {} -- module state: outlives every request
return { ["GET /keep"] = function()
  kept[#kept + 1] = ("k"):rep(1024 * 1024 - 64) .. #kept
  return { kept = #kept }
end }
]] }
    local routes = t.routes_dir()
    assert(t.use_routes(dir))
    t.set_limits { memory_limit = t.stats().memory + 8 * 1024 * 1024 }
    t.capture_logs()
    local statuses = {}
    for i = 1, 12 do statuses[i] = t.get("/keep").status end
    local logs = t.logs()
    t.capture_logs(false)
    t.set_limits { memory_limit = basic.limits[2] }
    assert(t.use_routes(routes)) -- a reload drops the kept memory
    folder.remove(dir)
    assert.equal(200, statuses[1])
    assert.equal(500, statuses[12]) -- every request fails once the module's table fills the limit
    local held = {}
    for _, line in ipairs(logs) do
      if line.msg:find("half of TYCHO_LUA_MEMORY_LIMIT", 1, true) then held[#held + 1] = line end
    end
    assert.equal(1, #held) -- once, not once per failed request
    assert.equal("warn", held[1].level)
    assert.matches("module%-level tables", held[1].msg)
    assert.matches("until a reload or a restart", held[1].msg)
    assert.is_true(held[1].lua_memory_bytes >= 0.5 * held[1].limit_bytes)
  end)

  it("under tycho serve, the request after a memory-limit failure succeeds", function()
    local http = require "tycho.http"
    local folder = dofile(here .. "/fixtures/folder.lua")
    local dir = folder.new { ["m.lua"] = [[
      return {
        { "GET", "/mem", function()
            local t, i = {}, 0
            while true do i = i + 1; t[i] = ("x"):rep(100) .. i end
        end },
        { "POST", "/echo", function(req) return req.body end },
      }]] }
    local srv = t.serve { routes = dir, workers = 1, args = { "--lua-memory-limit", "33554432" },
                          env = { TYCHO_DATA_DIR = dir .. "/.data", SQS_CONSUMER = "off" } }
    local codes = {}
    for round = 1, 2 do
      codes[#codes + 1] = http.get(srv.url "/mem")
      codes[#codes + 1] = http.post(srv.url "/echo", '{"a":1}')
      if round == 1 then time.sleep(0.3) end
    end
    srv:stop()
    folder.remove(dir)
    assert.same({ 500, 200, 500, 200 }, codes)
  end)
end)
