-- GET /: the landing endpoint — a log line, a metric, a JSON answer.
local log = require "tycho.log"

local clock = require "_app.clock"
local metrics = require "_app.metrics"

return {
  { "GET", "/", function(req)
      clock.simulated_work()
      metrics.user_actions:inc { action = "visit" }
      log.info("visit", { client_ip = req.client_ip, user_agent = req.headers.user_agent })
      return { message = "Hello from tycho!", visit_time = clock.iso() }
  end },
}
