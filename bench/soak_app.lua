-- wrk script of bench/soak_app.sh: a mix of the reference app's requests
-- at a fixed rate. Before each request a connection takes the next free send
-- slot (one every 1000 / SOAK_RATE ms, for all the connections of a thread)
-- and waits for it in delay(): the rate holds whatever each request's
-- latency, as long as enough connections are idle (a closed loop at full
-- speed would leave no CPU headroom). A server that falls behind gets the
-- missed slots at once, up to one second's worth.
-- wrk cannot tell which request a response answers (several connections
-- share this state), so per-route statuses come from the server's
-- tycho_http_requests_total; here: requests sent by kind, responses by status.
--
--   SOAK_RATE       requests per second of each wrk thread (default 100)
--   SOAK_GET_ID     an item id /get-data/:id finds (the script saves it first)
local ffi = require "ffi"

ffi.cdef [[
typedef struct { long tv_sec; long tv_nsec; } soak_timespec_t;
int clock_gettime(int clock, soak_timespec_t *ts);
]]
local CLOCK_MONOTONIC = 1
local ts = ffi.new("soak_timespec_t")
local function now_ms()
  ffi.C.clock_gettime(CLOCK_MONOTONIC, ts)
  return tonumber(ts.tv_sec) * 1000 + tonumber(ts.tv_nsec) / 1e6
end

local interval_ms = 1000 / tonumber(os.getenv("SOAK_RATE") or "100")
local known_id = os.getenv("SOAK_GET_ID") or "none"

-- { weight, kind, method, path, body }: kind names the line in the summary
local MIX = {
  { 14, "index", "GET", "/" },
  { 14, "health", "GET", "/health" },
  { 3, "health_deep", "GET", "/health?deep=1" },
  { 8, "save_data", "POST", "/save-data", '{"user_id":"soak","score":42,"tags":["a","b"]}' },
  { 3, "save_data_bad_json", "POST", "/save-data", '{"score":' },
  { 2, "save_data_not_object", "POST", "/save-data", '[1,2,3]' },
  { 2, "save_data_bad_user", "POST", "/save-data", '{"user_id":""}' },
  { 8, "workflow_get", "GET", "/workflow" },
  { 4, "workflow_post", "POST", "/workflow", '{"user_id":"soak","order":7}' },
  { 8, "telemetry", "GET", "/test-telemetry" },
  { 3, "send_message", "POST", "/send-message", '{"content":{"soak":true}}' },
  -- a long poll of up to 1 s, beside the workflow's consumer on the same queue
  { 1, "receive_messages", "GET", "/receive-messages?wait=1&max=1" },
  { 4, "get_data", "GET", "/get-data/" .. known_id },
  { 4, "get_data_missing", "GET", "/get-data/no-such-item" },
  { 2, "openapi", "GET", "/openapi.json" },
  { 5, "unknown_path", "GET", "/no/such/path" },
  { 2, "wrong_method", "DELETE", "/health" },
}

-- built in init(): wrk.format takes the Host header from wrk.headers, set
-- only once wrk has parsed its arguments
local requests, kinds, total = {}, {}, 0

local threads = {}
function setup(thread)
  threads[#threads + 1] = thread
end

sent, statuses = {}, {}

function init()
  math.randomseed(os.time())
  for _, m in ipairs(MIX) do
    local head = m[5] and { ["Content-Type"] = "application/json" } or {}
    local req = wrk.format(m[3], m[4], head, m[5])
    for _ = 1, m[1] do
      requests[#requests + 1] = req
      kinds[#kinds + 1] = m[2]
    end
    total = total + m[1]
  end
end

function request()
  local i = math.random(total)
  sent[kinds[i]] = (sent[kinds[i]] or 0) + 1
  return requests[i]
end

function response(status)
  statuses[status] = (statuses[status] or 0) + 1
end

local next_slot
function delay()
  local now = now_ms()
  if not next_slot or next_slot < now - 1000 then next_slot = now end
  next_slot = next_slot + interval_ms
  return math.max(0, math.floor(next_slot - now))
end

function done(summary)
  local s, st = {}, {}
  for _, t in ipairs(threads) do
    for k, v in pairs(t:get("sent")) do s[k] = (s[k] or 0) + v end
    for k, v in pairs(t:get("statuses")) do st[k] = (st[k] or 0) + v end
  end
  for k, v in pairs(s) do io.write(("SENT\t%s\t%d\n"):format(k, v)) end
  for k, v in pairs(st) do io.write(("STATUS\t%d\t%d\n"):format(k, v)) end
  local e = summary.errors
  io.write(("ERRORS\tconnect %d read %d write %d timeout %d status %d\n")
    :format(e.connect, e.read, e.write, e.timeout, e.status))
  io.write(("TOTAL\t%d\t%.1f\n"):format(summary.requests, summary.duration / 1e6))
end
