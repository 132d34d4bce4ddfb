-- The reference app's settings, read once per load from the environment.
-- Every variable is optional: with none set, the app runs on tycho's
-- embedded local backend (queue `tycho-messages`, table `tycho-app-data`).
-- A bad value stops the load with a message naming the variable.
local env = require "tycho.env"
local server = require "tycho.server"
local uuid = require "tycho.uuid"

-- v, when lo <= v <= hi (not NaN, which no comparison holds for); `unit`
-- and `note` (optional) complete the message.
local function range(name, v, lo, hi, unit, note)
  if not (v >= lo and v <= hi) then
    error(("environment variable %s: %s is out of range (%s to %s%s%s)")
      :format(name, v, lo, hi, unit and " " .. unit or "", note and "; " .. note or ""), 0)
  end
  return v
end

-- v, when it is a whole number (a byte count: 1000.5 is a mistake).
local function whole(name, v)
  if v % 1 ~= 0 then
    error(("environment variable %s: %s is not a whole number"):format(name, v), 0)
  end
  return v
end

-- The simulated work ends well within the handler timeout (past it every
-- GET / and /test-telemetry would answer 504): at most a third of it, 10 s
-- at its default of 30 s (and with no timeout).
local function max_work_ms()
  local timeout = server.handler_timeout()
  if not timeout or timeout == 0 then timeout = 30 end
  return math.floor(timeout * 1000 / 3)
end

-- SIMULATED_WORK_MS: "250" or "100-500" (a random duration in that range),
-- at most max_work_ms()
local function work_range(name)
  local v = env.get(name, "0")
  local lo, hi = v:match("^(%d+)%-(%d+)$")
  if not lo then lo = v:match("^%d+$"); hi = lo end
  if not lo or tonumber(lo) > tonumber(hi) then
    error(("environment variable %s: expected milliseconds (\"250\") or a range (\"100-500\"), got %q")
      :format(name, v), 0)
  end
  range(name, tonumber(hi), 0, max_work_ms(), "ms",
    "a third of TYCHO_HANDLER_TIMEOUT: a request must end well within it")
  return { tonumber(lo) / 1000, tonumber(hi) / 1000 }
end

-- SAMPLE_LOG_INTERVAL: seconds, 0 (or unset) for none. At least 0.1: it
-- stays a sample of lines (10 a second at most), not a flood of the log.
local function sample_interval(name)
  local v = env.number(name, 0)
  if v == 0 then return 0 end
  return range(name, v, 0.1, 86400, "seconds", "0 is off")
end

-- math.random starts from the same seed in every Lua state: seed it once per load.
math.randomseed(tonumber(uuid():sub(1, 8), 16))

return {
  -- where the data goes (a queue URL, or a queue name resolved with GetQueueUrl)
  queue = env.get("SQS_MESSAGE_QUEUE_URL", "tycho-messages"),
  dead_letter_queue = env.get("SQS_DEAD_LETTER_QUEUE_URL", "tycho-messages-dlq"),
  table = env.get("DYNAMODB_APP_TABLE", "tycho-app-data"),
  -- consume the queue in this process (routes/workflow.lua)
  consumer = env.bool("SQS_CONSUMER", true),
  -- its long poll: seconds each ReceiveMessage may wait for a message (SQS's 0-20)
  consumer_wait = whole("SQS_CONSUMER_WAIT", range("SQS_CONSUMER_WAIT", env.number("SQS_CONSUMER_WAIT", 20), 0, 20,
    "seconds")),
  -- simulated work before answering GET / and /test-telemetry (seconds; 0 = none)
  work = work_range("SIMULATED_WORK_MS"),
  -- share of /test-telemetry requests that record a simulated error
  error_rate = range("SIMULATED_ERROR_RATE", env.number("SIMULATED_ERROR_RATE", 0.1), 0, 1),
  -- largest JSON body /send-message, /save-data and POST /workflow accept
  max_payload = whole("MAX_PAYLOAD_BYTES", range("MAX_PAYLOAD_BYTES", env.number("MAX_PAYLOAD_BYTES", 65536), 1, 262144)),
  -- seconds between random sample log lines (routes/sample_log.lua); 0 or unset = off
  sample_log_interval = sample_interval("SAMPLE_LOG_INTERVAL"),
  -- saved items expire (DynamoDB TTL) after a day
  ttl_seconds = 24 * 3600,
}
