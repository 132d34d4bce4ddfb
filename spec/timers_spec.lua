-- Timers declared by route files (`timers = { { name, every, handler } }`):
-- the declarations are checked at load time (`tycho check`), and the timers
-- themselves run under a real `tycho serve` (worker 0 only), read back from
-- its JSON log.
local t = require "tycho.test"
local time = require "tycho.time"
local HERE = debug.getinfo(1, "S").source:match("^@(.*)/[^/]+$") or "spec"


local check = dofile(HERE .. "/fixtures/check.lua").files
local folder = dofile(HERE .. "/fixtures/folder.lua")

local server_log = dofile(HERE .. "/fixtures/server_log.lua")

-- The server's log lines so far, decoded (the non-JSON ones skipped).
local function lines(srv)
  return (server_log.read(srv))
end

-- The lines in the order they were logged. The log shows each thread's lines
-- in order, but another thread's only as the telemetry thread drains the
-- rings in turn (docs/telemetry.md): the main thread's "routes reloaded" may
-- come out before a worker's line logged just before it.
local function by_time(recs)
  for i, rec in ipairs(recs) do rec.position = i end
  table.sort(recs, function(x, y)
    if x.time ~= y.time then return x.time < y.time end
    return x.position < y.position
  end)
  return recs
end

local function with_msg(srv, msg)
  local out = {}
  for _, rec in ipairs(lines(srv)) do
    if rec.msg == msg then out[#out + 1] = rec end
  end
  return out
end

local function wait_for(what, pred, timeout)
  local deadline = time.monotonic() + (timeout or 5)
  while time.monotonic() < deadline do
    if pred() then return end
    time.sleep(0.02)
  end
  error("timed out waiting for " .. what, 2)
end

-- SIGTERM, wait for the exit, and keep the log (srv:stop() removes it).
local function terminate(srv)
  os.execute(("kill -TERM %d 2>/dev/null"):format(srv.pid))
  wait_for("the server to exit", function()
    local alive = os.execute(("kill -0 %d 2>/dev/null"):format(srv.pid))
    return alive ~= 0 and alive ~= true
  end, 10)
  return lines(srv)
end

local servers = {}
local function serve(files, workers)
  local dir = folder.new(files)
  local srv = t.serve { routes = dir, workers = workers or 1,
                        env = { TYCHO_DATA_DIR = dir .. "/.data", SQS_CONSUMER = "off" } }
  srv.dir = dir
  servers[#servers + 1] = srv
  return srv
end

after_each(function()
  for _, srv in ipairs(servers) do
    os.execute(("kill -KILL %d 2>/dev/null"):format(srv.pid))
    os.remove(srv.log)
    folder.remove(srv.dir)
  end
  servers = {}
end)

describe("timer declarations", function()
  it("accept timers next to routes", function()
    local ok, out = check { ["jobs.lua"] = [[
      return {
        { "GET", "/x", function() return 200 end },
        timers = { { name = "a", every = 30, handler = function() end },
                   { name = "b", every = 0.5, timeout = 10, handler = function() end } },
      }]] }
    assert.is_true(ok, out)
  end)

  it("reject every <= 0 or not a number, with file:line", function()
    local ok, out = check { ["jobs.lua"] = "return {\n  timers = {\n    { name = 'a', every = 0,\n      handler = function() end },\n  },\n}\n" }
    assert.is_false(ok)
    assert.matches("jobs.lua:4: timers%[1%] %(a%): every must be a number of seconds > 0", out)
    ok, out = check { ["jobs.lua"] = "return { timers = { { name = 'a', every = '5', handler = function() end } } }" }
    assert.is_false(ok)
    assert.matches("jobs.lua:1: timers%[1%] %(a%): every must be a number", out)
    ok, out = check { ["jobs.lua"] = "return { timers = { { name = 'a', handler = function() end } } }" }
    assert.is_false(ok)
    assert.matches("every must be a number", out)
  end)

  it("reject a handler that is not a function, naming the declaration's line", function()
    local ok, out = check { ["jobs.lua"] = "return {\n  timers = {\n    { name = \"tick\", every = 1, handler = nil },\n  },\n}\n" }
    assert.is_false(ok)
    assert.matches("jobs.lua:3: timers%[1%] %(tick%): handler must be a function", out)
  end)

  it("reject unknown options, bad names and a non-table", function()
    local ok, out = check { ["jobs.lua"] = "return { timers = { { name = 'a', every = 1, evry = 2, handler = print } } }" }
    assert.is_false(ok)
    assert.matches("unknown option 'evry'", out)
    ok, out = check { ["jobs.lua"] = "return { timers = { { name = '', every = 1, handler = print } } }" }
    assert.is_false(ok)
    assert.matches("name must be a non%-empty string", out)
    ok, out = check { ["jobs.lua"] = "return { timers = 'x' }" }
    assert.is_false(ok)
    assert.matches("jobs.lua: timers must be a list", out)
  end)

  it("reject a name declared twice, in one file or two, naming both places", function()
    local ok, out = check {
      ["a.lua"] = "return {\n  timers = { { name = 'x', every = 1, handler = function() end } },\n}\n",
      ["b.lua"] = "return {\n  timers = {\n    { name = 'x', every = 2,\n      handler = function() end },\n  },\n}\n",
    }
    assert.is_false(ok)
    assert.matches("b.lua:4: timer x is already declared at .*/a.lua:2", out)
    ok, out = check { ["a.lua"] = "return { timers = {\n { name = 'x', every = 1, handler = function() end },\n { name = 'x', every = 1, handler = function() end } } }" }
    assert.is_false(ok)
    assert.matches("a.lua:3: timer x is already declared at .*/a.lua:2", out)
  end)
end)

describe("timers under tycho serve", function()
  it("fire repeatedly, on one worker only", function()
    local srv = serve({ ["t.lua"] = [[
      local log = require "tycho.log"
      local n = 0
      return { timers = { { name = "tick", every = 0.05, handler = function()
        n = n + 1
        log.info("tick", { n = n })
      end } } }]] }, 2)
    wait_for("6 ticks", function() return #with_msg(srv, "tick") >= 6 end)
    -- one counter: every worker has its own Lua state, so a second worker
    -- running the timer would repeat the numbers
    for i, rec in ipairs(with_msg(srv, "tick")) do assert.equal(i, rec.n) end
  end)

  it("never overlap: a run still going skips the next tick and logs the count", function()
    local srv = serve { ["t.lua"] = [[
      local log = require "tycho.log"
      local time = require "tycho.time"
      local running = 0
      return { timers = { { name = "slow", every = 0.05, handler = function()
        running = running + 1
        log.info("slow start", { running = running })
        time.sleep(0.13)
        running = running - 1
        log.info("slow end")
      end } } }]] }
    wait_for("3 runs", function() return #with_msg(srv, "slow end") >= 3 end)
    local seq = {}
    for _, rec in ipairs(lines(srv)) do
      if rec.msg == "slow start" then
        assert.equal(1, rec.running)
        seq[#seq + 1] = "start"
      elseif rec.msg == "slow end" then
        seq[#seq + 1] = "end"
      end
    end
    for i = 2, #seq do assert.are_not.equal(seq[i - 1], seq[i]) end -- start, end, start, end...
    local skips = with_msg(srv, "timer run skipped: the previous run is still going")
    assert.is_true(#skips >= 2)
    assert.equal("slow", skips[1].timer)
    for i, rec in ipairs(skips) do assert.equal(i, rec.skipped) end
  end)

  it("log errors with the timer's name and traceback and keep running", function()
    local srv = serve { ["t.lua"] = [[
      local n = 0
      local function fail() error("boom " .. n) end
      return {
        { "GET", "/ok", function() return "ok" end },
        timers = { { name = "flaky", every = 0.05, handler = function()
          n = n + 1
          if n % 2 == 1 then fail() end
          require("tycho.log").info("flaky ok", { n = n })
        end } },
      }]] }
    wait_for("3 failures and 2 successes", function()
      return #with_msg(srv, "timer handler failed") >= 3 and #with_msg(srv, "flaky ok") >= 2
    end)
    local e = with_msg(srv, "timer handler failed")[1]
    assert.equal("error", e.level)
    assert.equal("flaky", e.timer)
    assert.matches("t%.lua:2: boom 1", e.error)
    assert.matches("in function 'fail'", e.traceback)
    assert.matches("t%.lua:%d+$", e.handler)
    local status = require("tycho.http").get(srv.url "/ok")
    assert.equal(200, status)
  end)

  it("log where a run waits when it times out waiting", function()
    local srv = serve { ["t.lua"] = [[
      local time = require "tycho.time"
      local function stuck() time.sleep(60) end
      return { timers = { { name = "stuck", every = 0.05, timeout = 0.2, handler = function()
        stuck()
      end } } }]] }
    wait_for("the timeout", function()
      return #with_msg(srv, "timer handler timeout: still waiting after its timeout; cancelled") >= 1
    end)
    local e = with_msg(srv, "timer handler timeout: still waiting after its timeout; cancelled")[1]
    assert.equal("stuck", e.timer)
    assert.matches("in function 'sleep'", e.traceback)
    assert.matches("t%.lua:2: in function 'stuck'", e.traceback)
  end)

  it("read an error object raw: its failing metamethods are not run, the server goes on", function()
    local srv = serve { ["t.lua"] = [[
      local n = 0
      local E = { __tostring = function(e) return e.msg .. "!" end,
                  __index = function(_, k) error("no field " .. k, 2) end }
      return {
        { "GET", "/ok", function() return "ok" end },
        timers = { { name = "hostile", every = 0.05, handler = function()
          n = n + 1
          error(setmetatable(n == 1 and {} or { message = "boom " .. n }, E))
        end } },
      }]] }
    wait_for("2 failures", function() return #with_msg(srv, "timer handler failed") >= 2 end)
    local e = with_msg(srv, "timer handler failed")
    assert.equal("(error object is a table value)", e[1].error)
    assert.equal("boom 2", e[2].error)
    assert.equal(200, (require("tycho.http").get(srv.url "/ok")))
  end)

  it("are replaced on reload: old ones stop, a running one finishes, same names keep going", function()
    local srv = serve { ["t.lua"] = [[
      local log = require "tycho.log"
      local time = require "tycho.time"
      return { timers = {
        { name = "a", every = 0.05, handler = function() log.info("a", { v = 1 }) end },
        { name = "gone", every = 0.05, handler = function()
            log.info("gone start"); time.sleep(0.3); log.info("gone end") end },
      } }]] }
    wait_for("the first run of 'gone'", function() return #with_msg(srv, "gone start") >= 1 end)
    folder.write(srv.dir .. "/t.lua", [[
      local log = require "tycho.log"
      return { timers = {
        { name = "a", every = 0.05, handler = function() log.info("a", { v = 2 }) end },
        { name = "new", every = 0.05, handler = function() log.info("new") end },
      } }]])
    os.execute(("kill -HUP %d"):format(srv.pid))
    wait_for("the reload", function() return #with_msg(srv, "routes reloaded") >= 1 end)
    wait_for("new runs", function() return #with_msg(srv, "new") >= 3 and #with_msg(srv, "gone end") >= 1 end)
    time.sleep(0.2) -- a second reload (the file watcher) may follow: let it settle
    local reloaded, v2_after, after = false, 0, {}
    for _, rec in ipairs(by_time(lines(srv))) do
      if rec.msg == "routes reloaded" then
        reloaded = true
      elseif reloaded then
        after[rec.msg] = (after[rec.msg] or 0) + 1
        if rec.msg == "a" then
          assert.equal(2, rec.v)
          v2_after = v2_after + 1
        end
      end
    end
    assert.is_true(v2_after >= 2)
    assert.is_nil(after["gone start"]) -- no longer declared: stopped
    assert.equal(1, #with_msg(srv, "gone end")) -- the run in progress finished
  end)

  it("stop on SIGTERM; a running handler finishes within the drain", function()
    local srv = serve { ["t.lua"] = [[
      local log = require "tycho.log"
      local time = require "tycho.time"
      return { timers = { { name = "long", every = 0.05, handler = function()
        log.info("long start"); time.sleep(0.3); log.info("long end")
      end } } }]] }
    wait_for("a run in progress", function()
      return #with_msg(srv, "long start") > #with_msg(srv, "long end")
    end)
    local recs = terminate(srv)
    local seen, starts, ends = {}, 0, 0
    for _, rec in ipairs(recs) do
      seen[#seen + 1] = rec.msg
      if rec.msg == "long start" then starts = starts + 1 end
      if rec.msg == "long end" then ends = ends + 1 end
    end
    assert.equal(starts, ends)
    assert.equal("stopped", seen[#seen])
    local stopped_at
    for i, m in ipairs(seen) do if m == "timers: stopped; finishing running handlers" then stopped_at = i end end
    assert.is_number(stopped_at)
    for i = stopped_at + 1, #seen do assert.are_not.equal("long start", seen[i]) end
  end)
end)
