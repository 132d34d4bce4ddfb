-- Request input: optional JSON bodies and query parameters, checked before
-- anything is done with them. Bad input answers 400 (413 when too large)
-- and counts errors_total{error_type="validation"}.
local json = require "tycho.json"
local tycho = require "tycho"

local config = require "_app.config"
local metrics = require "_app.metrics"

local input = {}

local function reject(status, message)
  metrics.errors:inc { error_type = "validation" }
  tycho.error(status, message)
end

-- The body as a JSON object, or nil when the request has no body.
function input.json_object(req)
  if req.body == "" then return nil end
  if #req.body > config.max_payload then
    reject(413, ("the body is larger than %d bytes"):format(config.max_payload))
  end
  local ok, value = pcall(req.json, req) -- raises a 400 naming the problem
  if not ok then
    metrics.errors:inc { error_type = "validation" }
    error(value, 0)
  end
  if type(value) ~= "table" or json.is_array(value) then reject(400, "the body must be a JSON object") end
  return value
end

local MAX_DEPTH = 16 -- DynamoDB stores at most 32 levels; real data needs far fewer

local function depth(v)
  if type(v) ~= "table" then return 0 end
  local d = 0
  for _, x in pairs(v) do d = math.max(d, depth(x)) end
  return d + 1
end

-- The fields of a new item: from the body (stored as `data`; its `user_id`,
-- a string, also becomes the item's user_id), or generated sample data.
function input.item_fields(req)
  local body = input.json_object(req)
  if not body then
    return { user_id = "user_" .. math.random(1, 1000),
             data = { action = "sample", value = math.random(1, 100), source = "tycho-sample-app" } }
  end
  if depth(body) > MAX_DEPTH then reject(400, ("the body is nested deeper than %d levels"):format(MAX_DEPTH)) end
  local user_id = body.user_id
  if user_id ~= nil and (type(user_id) ~= "string" or user_id == "" or #user_id > 128) then
    reject(400, "user_id must be a string of 1 to 128 bytes")
  end
  return { user_id = user_id or "anonymous", data = body }
end

-- An integer query parameter in [lo, hi], or the default when absent.
function input.integer(req, name, default, lo, hi)
  local v = req.query[name]
  if v == nil or v == "" then return default end
  local n = type(v) == "string" and v:match("^%d+$") and tonumber(v)
  if not n or n < lo or n > hi then
    reject(400, ("%s must be an integer from %d to %d"):format(name, lo, hi))
  end
  return n
end

return input
