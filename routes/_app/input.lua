-- Request input: optional JSON bodies and query parameters, checked before
-- anything is done with them. Bad input answers 400 (413 when too large)
-- and counts errors_total{error_type="validation"}.
local json = require "tycho.json"
local protect = require "tycho.protect"
local tycho = require "tycho"

local config = require "_app.config"
local metrics = require "_app.metrics"

local input = {}

local function reject(status, message)
  metrics.errors:inc { error_type = "validation" }
  tycho.error(status, message)
end

local MAX_DEPTH = 16 -- DynamoDB stores at most 32 levels; real data needs far fewer

-- The field at key k of the value at path, as a client writes it: a.b[0].
local function field(path, k, is_array)
  if is_array then return ("%s[%d]"):format(path, k - 1) end
  return path == "" and k or path .. "." .. k
end

-- Why v (at path, levels deep) cannot be stored or sent, or nil. Numbers
-- need no check: req:json() refuses one past the range of a double (1e400)
-- with a 400 saying where it is.
local function problem(v, path, levels)
  if type(v) ~= "table" then return nil end
  if levels >= MAX_DEPTH then
    return ("%s: nested deeper than %d levels"):format(path == "" and "the body" or path, MAX_DEPTH)
  end
  local is_array = json.is_array(v)
  for k, x in pairs(v) do
    local why = problem(x, field(path, k, is_array), levels + 1)
    if why then return why end
  end
  return nil
end

-- The body as a JSON object, or nil when the request has no body. The
-- object is one the app can store and send: at most 16 levels deep.
function input.json_object(req)
  if req.body == "" then return nil end
  if #req.body > config.max_payload then
    reject(413, ("the body is larger than %d bytes"):format(config.max_payload))
  end
  local ok, value = protect.pcall(req.json, req) -- raises a 400 naming the problem
  if not ok then
    metrics.errors:inc { error_type = "validation" }
    error(value, 0)
  end
  if type(value) ~= "table" or json.is_array(value) then reject(400, "the body must be a JSON object") end
  local why = problem(value, "", 0)
  if why then reject(400, why) end
  return value
end

-- The fields of a new item of generated sample data.
function input.sample_fields()
  return { user_id = "user_" .. math.random(1, 1000),
           data = { action = "sample", value = math.random(1, 100), source = "tycho-sample-app" } }
end

-- The fields of a new item: from the body (stored as `data`; its `user_id`,
-- a string, also becomes the item's user_id), or generated sample data.
function input.item_fields(req)
  local body = input.json_object(req)
  if not body then return input.sample_fields() end
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
