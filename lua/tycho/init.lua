-- `require "tycho"`: every tycho module under one table, loaded on first use
-- (tycho.json, tycho.time, tycho.log, tycho.uuid, tycho.env, tycho.test,
-- tycho.all, and the modules other parts of tycho add: tycho.http,
-- tycho.sqs, ...).
local protect = require "tycho.protect"

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
-- Another status, or a message that is not a string (a number is written as
-- one), is an error at the call: the body has no room for it, and dropping
-- it would answer the reason phrase without a word.
function tycho.error(status, message)
  if type(status) ~= "number" or status ~= math.floor(status) or status < 400 or status > 599 then
    error("tycho.error: status must be an integer 400..599, got " .. shown(status), 2)
  end
  if type(message) == "number" then
    message = tostring(message)
  elseif message ~= nil and type(message) ~= "string" then
    error("tycho.error: message must be a string, got a " .. type(message), 2)
  end
  error(setmetatable({ status = status, message = message }, ERROR_MT), 2)
end

-- tycho.<name> is require("tycho.<name>"), or nil when there is no such
-- module. A module that exists but fails to load raises its own error (a
-- missing module it requires included), never passing for one not there.
return setmetatable(tycho, {
  __index = function(t, name)
    if type(name) ~= "string" then return nil end
    local modname = "tycho." .. name
    local ok, mod = protect.pcall(require, modname) -- a memory error goes on as one
    if not ok then
      local not_found = "module '" .. modname .. "' not found:"
      if type(mod) == "string" and mod:sub(1, #not_found) == not_found then return nil end
      error(mod, 0)
    end
    rawset(t, name, mod)
    return mod
  end,
})
