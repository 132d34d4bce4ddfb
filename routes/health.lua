-- GET /health: the load balancer's health check. 200 while serving, 503
-- once tycho is draining after SIGTERM, so the ALB stops sending traffic
-- before the task goes away. GET /health?deep=1 also checks the AWS
-- backend (queue attributes, a table read) and reports each check; it
-- answers 503 when one fails. Keep the ALB on the shallow check: a backend
-- outage should not take every task out of the target group. The deep check
-- is for callers inside the network (loopback, private and unique-local
-- addresses, as req.client_ip sees them: behind a trusted proxy, the client
-- it forwards for): anyone else gets 403, whatever the load balancer in
-- front lets through.
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

local function depth(queue)
  return { messages = queue:attributes({ "ApproximateNumberOfMessages" }).ApproximateNumberOfMessages }
end

local CHECKS = {
  { "queue", "sqs", "GetQueueAttributes", function() return depth(store.queue) end },
  { "dead_letter_queue", "sqs", "GetQueueAttributes", function() return depth(dead_letters) end },
  -- a key that never exists: a cheap read that needs only dynamodb:GetItem
  { "table", "dynamodb", "GetItem", function()
      store.items:get { id = "health-check", timestamp = "0" }
      return {}
  end },
}

-- Loopback, RFC 1918 private and IPv6 unique-local addresses (IPv4 ones
-- match their IPv4-mapped IPv6 form too): the callers inside the network.
local INTERNAL = "127.0.0.0/8,10.0.0.0/8,172.16.0.0/12,192.168.0.0/16,::1,fc00::/7"

-- Runs every check: healthy, { name = { status = "ok" | "error", duration_seconds, ... } }
local function deep_checks()
  local checks, healthy = {}, true
  for _, c in ipairs(CHECKS) do
    local name, service, operation, run = c[1], c[2], c[3], c[4]
    local t0 = time.monotonic()
    local ok, res = metrics.aws(service, operation, run)
    if not ok and not aws.is_error(res) then error(res, 0) end -- a bug: 500, traceback logged
    local out = ok and res
      or { error = res.type, message = store.public_message(res, "health check " .. name) }
    out.status = ok and "ok" or "error"
    out.duration_seconds = clock.since(t0)
    checks[name] = out
    healthy = healthy and ok
  end
  return healthy, checks
end

return {
  { "GET", "/health", function(req)
      if server.draining() then
        return 503, { status = "draining", timestamp = clock.iso() }
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
