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

-- Whether ip (req.client_ip's text) is loopback, RFC 1918 private, IPv6
-- unique-local (fc00::/7), or one of those IPv4 addresses mapped into IPv6.
local function internal(ip)
  local v4 = ip:match("^::[fF][fF][fF][fF]:(%d+%.%d+%.%d+%.%d+)$") or ip
  local a, b = v4:match("^(%d+)%.(%d+)%.%d+%.%d+$")
  if a then
    a, b = tonumber(a), tonumber(b)
    return a == 127 or a == 10 or (a == 172 and b >= 16 and b <= 31) or (a == 192 and b == 168)
  end
  local lower = ip:lower()
  return lower == "::1" or lower:match("^f[cd]%x%x:") ~= nil
end

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
        if not internal(req.client_ip) then
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
