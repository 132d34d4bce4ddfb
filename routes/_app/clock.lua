-- Time helpers: UTC ISO 8601 timestamps, and the simulated work of GET /
-- and /test-telemetry.
local time = require "tycho.time"
local config = require "_app.config"

local clock = {}

-- 2026-11-25T16:51:27.382Z (t: Unix seconds, default now)
function clock.iso(t)
  t = t or time.now()
  local s = math.floor(t)
  return os.date("!%Y-%m-%dT%H:%M:%S", s) .. (".%03dZ"):format(math.floor((t - s) * 1000))
end

-- Seconds since t0 (a tycho.time.monotonic() reading), to 0.1 ms.
function clock.since(t0)
  return math.floor((time.monotonic() - t0) * 1e4 + 0.5) / 1e4
end

-- Waits SIMULATED_WORK_MS (off by default). tycho.time.sleep does not block:
-- the worker serves other requests meanwhile.
function clock.simulated_work()
  local lo, hi = config.work[1], config.work[2]
  if hi > 0 then time.sleep(lo + math.random() * (hi - lo)) end
end

return clock
