-- Timers whose runs tests/telemetry/test_timer_metrics.sh counts on /metrics:
-- one of each outcome, one that overlaps its ticks, one that never runs in the
-- test, and one the shutdown cuts.
local time = require "tycho.time"
local log = require "tycho.log"

return {
  { "GET", "/x", function() return "x" end },
  timers = {
    { name = "works", every = 0.05, handler = function() end },
    { name = "fails", every = 0.05, handler = function() error("timer boom") end },
    { name = "stuck", every = 0.05, timeout = 0.1, handler = function() time.sleep(60) end },
    { name = "slow", every = 0.05, handler = function() time.sleep(0.12) end },
    { name = "idle", every = 3600, handler = function() end },
    { name = "long-job", every = 0.05, handler = function()
        log.info("long job started")
        time.sleep(60)
      end },
  },
}
