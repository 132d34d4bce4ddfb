-- Routes for tests/lua/telemetry_e2e.py: a metric defined at load time (on a
-- worker, before it has an observer: it binds at its first update), a child
-- span, a log line inside it; a route with a parameter, one that fails and a
-- slow one (?s=seconds), for the server span's attributes and cut requests.
local metrics = require "tycho.metrics"
local trace = require "tycho.trace"
local log = require "tycho.log"

local visits = metrics.counter("e2e_visits_total", "Visits by action.", { "action" })
local work = metrics.histogram("e2e_work_seconds", "Work time.", { "kind" }, { 0.001, 0.01, 0.1 })
local padding = string.rep("x", tonumber(os.getenv "E2E_LOG_PADDING" or "") or 0)

return {
  { "GET", "/hello", function()
      visits:inc { action = "hello" }
      local child = trace.span("work", { ["e2e.kind"] = "greeting" }, function()
        log.info("e2e: in the child span", { padding = padding })
        work:observe({ kind = "greeting" }, 0.002)
        return trace.current().span_id
      end)
      local sp = trace.current()
      return 200, { trace_id = sp.trace_id, span_id = sp.span_id, child = child }
  end },
  { "GET", "/items/:id", function() return 200, { ok = true } end },
  { "GET", "/boom", function() error("boom") end },
  { "GET", "/slow", function(req)
      require("tycho.time").sleep(tonumber(req.query.s) or 1)
      return 200, { ok = true }
  end },
}
