-- GET /test-telemetry: exercises the three signals. A custom child span
-- with attributes and an event, a metric, log lines — and, for a share of
-- requests (SIMULATED_ERROR_RATE, default 10 %), a simulated error: counted
-- in errors_total{error_type="simulated"}, the span marked ERROR, while the
-- request still answers 200.
local log = require "tycho.log"
local time = require "tycho.time"
local trace = require "tycho.trace"

local clock = require "_app.clock"
local config = require "_app.config"
local metrics = require "_app.metrics"

local function operation(value)
  local span = trace.current() -- the child span trace.span made current
  span:add_event("processing", { ["app.step"] = "validate", ["app.value"] = value })
  clock.simulated_work()
  if math.random() < config.error_rate then
    metrics.errors:inc { error_type = "simulated" }
    span:record_error("simulated error (SIMULATED_ERROR_RATE)")
    log.warn("simulated error", { operation = "test_telemetry", value = value })
    return false
  end
  return true
end

return {
  { "GET", "/test-telemetry", function()
      local t0 = time.monotonic()
      metrics.user_actions:inc { action = "test_telemetry" }
      local value = math.random(1, 100)
      local ok = trace.span("test_telemetry.operation",
        { ["app.operation"] = "test_telemetry", ["app.value"] = value }, operation, value)
      log.info("telemetry test", { value = value, simulated_error = not ok })
      local server_span = trace.current()
      return {
        message = "Telemetry test completed",
        timestamp = clock.iso(),
        response_time = clock.since(t0),
        telemetry_enabled = server_span.sampled,
        trace_id = server_span.trace_id,
      }
  end },
}
