-- Routes for the tests/awslua script tests: outbound HTTP and AWS through
-- the Lua API, and an SQS consumer that records what it processed in
-- DynamoDB (so a test can count how often each message was handled).
local http = require "tycho.http"
local sqs = require "tycho.sqs"
local ddb = require "tycho.dynamodb"
local aws = require "tycho.aws"
local env = require "tycho.env"
local time = require "tycho.time"

local VERSION = "v1" -- test_consumers.sh rewrites this line to check reloads
local QUEUE = env.get("TEST_QUEUE", "tycho-test-jobs")
local TABLE = env.get("TEST_TABLE", "tycho-test-seen")
local queue = sqs.queue(QUEUE)
local seen = ddb.table(TABLE)

local function aws_error(err)
  if aws.is_error(err) then
    return { type = err.type, message = err.message, status = err.status,
             retryable = err.retryable, attempts = err.attempts, http_status = err.http_status,
             server_fault = err.server_fault, details = err.details }
  end
  return { type = "LuaError", message = tostring(err) }
end

local routes = {
  { "GET", "/health", function() return 200, { ok = true } end },

  -- outbound HTTP: ?url=...&timeout=...&method=...
  { "GET", "/fetch", function(req)
      local status, headers, body = http.request { url = req.query.url,
        method = req.query.method, timeout = tonumber(req.query.timeout) or 5 }
      if not status then return 502, { error = headers, kind = body } end
      return 200, { status = status, body = body, traceparent = headers["x-seen-traceparent"] }
  end },

  -- a generic AWS call: POST { service, target, params, timeout, endpoint }
  { "POST", "/aws", function(req)
      local b = req:json()
      local ok, res = pcall(aws.call, b.service, b.target, b.params or {},
        { timeout = b.timeout, endpoint = b.endpoint, max_attempts = b.max_attempts })
      if not ok then return 200, { ok = false, error = aws_error(res) } end
      return 200, { ok = true, result = res }
  end },

  -- the same call, its aws.Error left to escape: the runtime's default answer
  { "POST", "/aws-raise", function(req)
      local b = req:json()
      return 200, { result = aws.call(b.service, b.target, b.params or {}) }
  end },

  -- send a message: POST { body = ..., attributes = ... }
  { "POST", "/send", function(req)
      local b = req:json()
      local id = queue:send(b.body, { attributes = b.attributes })
      return 200, { id = id }
  end },

  -- send a batch: POST { queue_url, bodies = { ... } } -> the index of each
  -- entry sent, and of each failed one with its code
  { "POST", "/send-batch", function(req)
      local b = req:json()
      local r = sqs.queue(b.queue_url):send_batch(b.bodies)
      local out = { sent = {}, failed = {} }
      for _, s in ipairs(r.successful) do out.sent[#out.sent + 1] = s.index end
      for _, f in ipairs(r.failed) do
        out.failed[#out.failed + 1] = { index = f.index, code = f.code,
          attempts = f.error and f.error.attempts, sender_fault = f.sender_fault }
      end
      return 200, out
  end },

  -- one tycho.sqs call with options: POST { queue_url, op, args = { ... }, opts }
  -- -> { ok, result | error, seconds } (q[op](q, args..., opts))
  { "POST", "/sqs", function(req)
      local b = req:json()
      local q = sqs.queue(b.queue_url)
      local args = b.args or {}
      args[#args + 1] = b.opts
      local t0 = time.monotonic()
      local ok, res = pcall(q[b.op], q, unpack(args, 1, #args))
      local out = { ok = ok, seconds = time.monotonic() - t0 }
      if ok then out.result = res else out.error = aws_error(res) end
      return 200, out
  end },

  { "GET", "/seen/:key", function(req)
      local item = seen:get { key = req.params.key }
      return 200, { count = item and item.count or 0, item = item }
  end },

}

-- TEST_CONSUMER=off: no consumer (its polls would take the fake's scripted answers)
if env.bool("TEST_CONSUMER", true) then
  routes.consumers = {
    { queue = QUEUE, concurrency = tonumber(env.get("TEST_CONCURRENCY", "4")),
      batch = 10, visibility = tonumber(env.get("TEST_VISIBILITY", "30")), wait = 1,
      retry_delay = tonumber(env.get("TEST_RETRY_DELAY", "")),
      handler = function(msg)
        local job = msg:json()
        if job.sleep then time.sleep(job.sleep) end
        if job.fail then error("job " .. tostring(job.key) .. " failed on purpose") end
        seen:update({ key = job.key }, { add = { count = 1 },
          set = { trace = msg.trace_header or "", receive_count = msg.receive_count, version = VERSION } })
      end },
  }
end

return routes
