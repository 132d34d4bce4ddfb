-- Timers whose runs the trace tests follow (tests/telemetry/test_timer_spans.sh):
-- one calls out with tycho.http (to TIMER_TARGET, a loopback receiver)
-- inside a tycho.trace span of its own, one raises.
local http = require "tycho.http"
local trace = require "tycho.trace"
local log = require "tycho.log"

local target = os.getenv "TIMER_TARGET"

return {
  timers = {
    { name = "call-out", every = 0.2, handler = function()
        local status = http.get(target .. "/from-timer")
        trace.span("after the call", function()
          log.info("timer called out", { status = status })
        end)
    end },
    { name = "fails", every = 0.2, handler = function()
        error("timer boom")
    end },
  },
}
