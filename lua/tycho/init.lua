-- `require "tycho"`: every tycho module under one table, loaded on first use
-- (tycho.json, tycho.time, tycho.log, tycho.uuid, tycho.env, tycho.test, and
-- the modules other parts of tycho add: tycho.http, tycho.sqs, ...).
local tycho = {}

local ERROR_MT = {
  __tostring = function(e) return "HTTP " .. tostring(e.status) .. ": " .. tostring(e.message) end,
}

-- v as an error message shows it: the string "404" quoted, NaN as NaN.
local function shown(v)
  if type(v) == "string" then return ("the string %q"):format(v) end
  if v ~= v then return "NaN" end
  return tostring(v)
end

-- Raises an HTTP error: the request is answered with `status` (an integer
-- 400..599) and a JSON body { "error": message, "request_id": ... } instead
-- of a 500. Not logged as a crash (5xx statuses are logged as warnings).
-- Another status is an error at the call.
function tycho.error(status, message)
  if type(status) ~= "number" or status ~= math.floor(status) or status < 400 or status > 599 then
    error("tycho.error: status must be an integer 400..599, got " .. shown(status), 2)
  end
  error(setmetatable({ status = status, message = message }, ERROR_MT), 2)
end

return setmetatable(tycho, {
  __index = function(t, name)
    local ok, mod = pcall(require, "tycho." .. name)
    if not ok then return nil end
    rawset(t, name, mod)
    return mod
  end,
})
