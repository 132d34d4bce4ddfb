-- The "slow AWS" endpoint of bench/nonblocking.sh, served by a second tycho
-- (much cheaper per request than a Python server, so the load generator
-- side does not starve the machine): every request waits SLOW_DELAY_MS and
-- answers a small AWS JSON 1.0 body.
local time = require "tycho.time"
local delay = (tonumber(os.getenv "SLOW_DELAY_MS") or 200) / 1000
local function slow()
  time.sleep(delay)
  return 200, '{"Item":{"id":{"S":"slow"}}}', { ["Content-Type"] = "application/x-amz-json-1.0" }
end
return {
  ["GET /"] = slow,
  ["POST /"] = slow,
}
