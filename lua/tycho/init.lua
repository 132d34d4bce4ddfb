-- `require "tycho"`: every tycho module under one table, loaded on first use
-- (tycho.json, tycho.time, tycho.log, tycho.uuid, tycho.env, tycho.test, and
-- the modules other parts of tycho add: tycho.http, tycho.sqs, ...).
local tycho = {}

local ERROR_MT = {
  __tostring = function(e) return "HTTP " .. tostring(e.status) .. ": " .. tostring(e.message) end,
}

-- Raises an HTTP error: the request is answered with `status` and a JSON body
-- { "error": message, "request_id": ... } instead of a 500. Not logged as a
-- crash (5xx statuses are logged as warnings).
function tycho.error(status, message)
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
