-- SAMPLE_LOG_INTERVAL: a random sample log line every N seconds, as the
-- original app's background thread wrote — a random level (info, warn,
-- error) and a random message, through tycho.log. A timer (docs/routes.md,
-- "Timers"): it runs on worker 0 only, so one line per interval per process.
-- Off (no timer declared) when the variable is unset or 0.
local log = require "tycho.log"

local config = require "_app.config"

local LEVELS = { "info", "warn", "error" }
local MESSAGES = {
  "user session started",
  "cache refreshed",
  "order processed",
  "slow database query",
  "payment provider responded slowly",
  "retrying upstream call",
  "inventory sync failed",
  "background job finished",
}

local function sample_line()
  local level = LEVELS[math.random(#LEVELS)]
  log[level](MESSAGES[math.random(#MESSAGES)], { sample = true })
end

return {
  timers = config.sample_log_interval > 0 and {
    { name = "sample-log", every = config.sample_log_interval, handler = sample_line },
  } or nil,
}
