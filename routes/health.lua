-- GET /health: the load balancer's health check. 200 while serving, 503
-- once tycho is draining after SIGTERM, so the ALB stops sending traffic
-- before the task goes away, and 503 while a worker is stuck in a loop the
-- watchdog cannot interrupt (server.stuck_runs()): that worker answers
-- nothing for good, so the task should be replaced, and the workers still
-- serving say so (the container health check fails after its retries; a
-- loop that ends on its own makes the task healthy again). GET /health?deep=1 also checks the AWS
-- backend (queue attributes, a table read) and reports each check; it
-- answers 503 when one fails. Each check has a deadline of its own
-- (CHECK_TIMEOUT per call, no retry), so a backend that hangs fails its
-- check in seconds instead of holding the request to the handler timeout;
-- the checks run side by side (tycho.all), so the answer takes as long as
-- the slowest check, about 2 × CHECK_TIMEOUT at most (a queue's URL
-- lookup, then its attributes). Keep the ALB on the
-- shallow check: a backend outage should not take every task out of the
-- target group. The deep check is for callers inside the network
-- (loopback, private and unique-local addresses, as req.client_ip sees
-- them: behind a trusted proxy, the client it forwards for): anyone else
-- gets 403, whatever the load balancer in front lets through.
local aws = require "tycho.aws"
local net = require "tycho.net"
local server = require "tycho.server"
local sqs = require "tycho.sqs"
local time = require "tycho.time"
local tycho = require "tycho"

local clock = require "_app.clock"
local config = require "_app.config"
local metrics = require "_app.metrics"
local store = require "_app.store"

local dead_letters = sqs.queue(config.dead_letter_queue)

-- seconds a check's call may take; a health check does not retry
local CHECK_TIMEOUT = 2
local CALL = { timeout = CHECK_TIMEOUT, max_attempts = 1 }

local function depth(queue)
  return { messages = queue:attributes({ "ApproximateNumberOfMessages" }, CALL).ApproximateNumberOfMessages }
end

local CHECKS = {
  { "queue", "sqs", "GetQueueAttributes", function() return depth(store.queue) end },
  { "dead_letter_queue", "sqs", "GetQueueAttributes", function() return depth(dead_letters) end },
  -- a key that never exists: a cheap read that needs only dynamodb:GetItem
  { "table", "dynamodb", "GetItem", function()
      store.items:get({ id = "health-check", timestamp = "0" }, CALL)
      return {}
  end },
}

-- What a failed check reports of err: a timeout as the check's deadline.
local function check_error(err, name)
  local message = err.http_status == 504 and ("timeout after %gs"):format(CHECK_TIMEOUT)
    or store.public_message(err, "health check " .. name)
  return { error = err.type, message = message }
end

-- Loopback, RFC 1918 private and IPv6 unique-local addresses (IPv4 ones
-- match their IPv4-mapped IPv6 form too): the callers inside the network.
local INTERNAL = "127.0.0.0/8,10.0.0.0/8,172.16.0.0/12,192.168.0.0/16,::1,fc00::/7"

-- Runs one check: { status = "ok" | "error", duration_seconds, ... }
local function run_check(c)
  local name, service, operation, run = c[1], c[2], c[3], c[4]
  local t0 = time.monotonic()
  local ok, res = metrics.aws(service, operation, run)
  if not ok and not aws.is_error(res) then error(res, 0) end -- a bug: 500, traceback logged
  local out = ok and res or check_error(res, name)
  out.status = ok and "ok" or "error"
  out.duration_seconds = clock.since(t0)
  return out
end

-- Runs every check, side by side: healthy, { name = check }
local function deep_checks()
  local runs = {}
  for i, c in ipairs(CHECKS) do runs[i] = function() return run_check(c) end end
  local results = { tycho.all(unpack(runs)) }
  local checks, healthy = {}, true
  for i, c in ipairs(CHECKS) do
    checks[c[1]] = results[i]
    healthy = healthy and results[i].status == "ok"
  end
  return healthy, checks
end

return {
  { "GET", "/health", function(req)
      if server.draining() then
        return 503, { status = "draining", timestamp = clock.iso() }
      end
      local stuck = server.stuck_runs()
      if stuck > 0 then
        return 503, { status = "stuck", stuck_runs = stuck, timestamp = clock.iso() }
      end
      local body = { status = "healthy", timestamp = clock.iso(), generation = server.generation() }
      if req.query.deep == "1" or req.query.deep == "true" then
        if not net.in_cidrs(req.client_ip, INTERNAL) then
          tycho.error(403, "?deep=1 is for callers inside the network (loopback or a private "
            .. "address); the load balancer's health check is plain /health")
        end
        local healthy, checks = deep_checks()
        body.checks = checks
        if not healthy then
          body.status = "unhealthy"
          return 503, body
        end
      end
      return 200, body
  end },
}
