-- SQS consumer declarations (checked at load time, `tycho check` included)
-- and the per-message runner the consumers use. The polling itself runs
-- under `tycho serve`: tests/awslua/test_consumers.sh.
local t = require "tycho.test"
local json = require "tycho.json"
local aws = require "tycho.aws"
local runner = require "tycho.sqs_consumer"
local HERE = debug.getinfo(1, "S").source:match("^@(.*)/[^/]+$") or "spec"

local check = dofile(HERE .. "/fixtures/check.lua")

local function check_source(src)
  return check.files { ["jobs.lua"] = src }
end

local function raw_message(body, extra)
  local m = { MessageId = "m-1", ReceiptHandle = "rh-1", Body = body, MD5OfBody = aws.md5(body),
              Attributes = { ApproximateReceiveCount = "2", SentTimestamp = "1700000000000" } }
  for k, v in pairs(extra or {}) do m[k] = v end
  return json.encode(m)
end

describe("consumer declarations", function()
  it("accept a full declaration next to routes", function()
    local ok, out = check_source [[
      return {
        { "GET", "/x", function() return 200 end },
        consumers = { { queue = "jobs", handler = function(m) end, batch = 5, concurrency = 8,
                        visibility = 60, wait = 10, timeout = 20, retry_delay = 0 } },
      }]]
    assert.is_true(ok, out)
  end)

  it("reject a missing queue (an unset environment variable)", function()
    local ok, out = check_source [[return { consumers = { { queue = os.getenv "UNSET_QUEUE_VAR_XYZ", handler = print } } }]]
    assert.is_false(ok)
    assert.matches("jobs.lua: consumers%[1%]: queue is required", out)
  end)

  it("reject unknown options, bad ranges and a missing handler", function()
    local ok, out = check_source [[return { consumers = { { queue = "q", handler = print, batchsize = 3 } } }]]
    assert.is_false(ok)
    assert.matches("unknown option 'batchsize'", out)
    ok, out = check_source [[return { consumers = { { queue = "q", handler = print, wait = 21 } } }]]
    assert.is_false(ok)
    assert.matches("wait must be an integer from 0 to 20", out)
    ok, out = check_source [[return { consumers = { { queue = "q" } } }]]
    assert.is_false(ok)
    assert.matches("handler must be a function", out)
    ok, out = check_source [[return { consumers = "q" }]]
    assert.is_false(ok)
    assert.matches("consumers must be a list", out)
  end)

  it("name the line of the entry's handler in their errors (docs/routes.md: file:line)", function()
    local function entry(options) -- its handler on line 3
      return ([[return { consumers = {
        { queue = %s,
          handler = function(m) end%s } } }]]):format(options.queue or '"q"', options.extra or "")
    end
    local cases = {
      { "jobs.lua:3: consumers%[1%]: queue is required", queue = 'os.getenv "UNSET_QUEUE_VAR_XYZ"' },
      { "jobs.lua:3: consumers%[1%]: unknown option 'batchsize'", extra = ", batchsize = 3" },
      { "jobs.lua:3: consumers%[1%] %(q%): wait must be an integer from 0 to 20", extra = ", wait = 21" },
    }
    for _, c in ipairs(cases) do
      local ok, out = check_source(entry(c))
      assert.is_false(ok)
      assert.matches(c[1], out)
    end
  end)

  it("reject the same queue declared twice", function()
    local ok, out = check_source [[return { consumers = {
      { queue = "q", handler = function() end }, { queue = "q", handler = function() end } } }]]
    assert.is_false(ok)
    assert.matches("consumer of queue q is already declared at", out)
  end)
end)

describe("the consumer runner", function()
  it("hands the handler a tycho.sqs message", function()
    local got
    local ok = runner.run(function(m) got = m end, raw_message('{"a":1}'), "http://localhost/000000000000/jobs")
    assert.is_true(ok)
    assert.equal("m-1", got.id)
    assert.same({ a = 1 }, got:json())
    assert.equal(2, got.receive_count)
    assert.equal(1700000000, got.sent_at)
    assert.equal("jobs", got.queue.name)
  end)

  it("treats `return false` as a failure, and lets errors through", function()
    assert.is_false(runner.run(function() return false end, raw_message "x", "q"))
    assert.is_true(runner.run(function() return nil end, raw_message "x", "q"))
    assert.has_error(function() runner.run(function() error("boom") end, raw_message "x", "q") end)
  end)

  it("rejects a message whose body does not match its MD5, without running the handler", function()
    local raw = raw_message("x", { MD5OfBody = aws.md5("y") })
    local ran = false
    local ok, why = runner.run(function() ran = true end, raw, "q", "q")
    assert.is_false(ok)
    assert.equal("rejected", why)
    assert.is_false(ran)
  end)
end)

describe("a consumer handler under tycho serve", function()
  it("that times out waiting is logged with where it waits", function()
    local http = require "tycho.http"
    local folder = dofile(HERE .. "/fixtures/folder.lua")
    local dir = folder.new { ["c.lua"] = [[
local sqs = require "tycho.sqs"
local time = require "tycho.time"
local function process() time.sleep(60) end
return {
  { "POST", "/send", function() sqs.create_queue("slow-jobs"):send("x") return 204 end },
  consumers = { { queue = "slow-jobs", timeout = 0.3, handler = function() process() end } },
}
]] }
    local srv = t.serve { routes = dir }
    finally(function()
      srv:stop()
      folder.remove(dir)
    end)
    assert.equal(204, (http.post(srv.url "/send", { body = "" })))
    local function handler_failed(rec)
      return rec.msg and rec.msg:find("sqs consumer: handler failed", 1, true)
    end
    local server_log = dofile(HERE .. "/fixtures/server_log.lua")
    local failed = server_log.select(server_log.wait(srv, function(recs)
      return server_log.select(recs, handler_failed)[1]
    end, 10), handler_failed)[1]
    assert.is_table(failed, "no 'handler failed' line")
    assert.equal("handler timeout", failed.error)
    assert.matches("in function 'sleep'", failed.traceback)
    assert.matches("c%.lua:3: in function 'process'", failed.traceback)
  end)
end)
