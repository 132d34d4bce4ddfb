-- GET /health: the load balancer's health check. 200 while serving, 503
-- once tycho is draining after SIGTERM, so the ALB stops sending traffic
-- before the task goes away.
local server = require "tycho.server"

local function iso_now()
  return os.date("!%Y-%m-%dT%H:%M:%SZ")
end

return {
  { "GET", "/health", function ()
      if server.draining() then
        return 503, { status = "draining", timestamp = iso_now() }
      end
      return 200, { status = "healthy", timestamp = iso_now(), generation = server.generation() }
  end },
}
