-- tycho.env — read the process environment with defaults and types.
--   local env = require "tycho.env"
--   env.get("TABLE", "items")      -- string, or the default when unset/empty
--   env.number("LIMIT", 10)        -- number (error if set but not a number)
--   env.bool("FEATURE_X", false)   -- true for 1/true/yes/on, false for 0/false/no/off
--   env.require("QUEUE_URL")       -- error naming the variable when missing
--   env.HOME                       -- same as env.get("HOME")
local env = {}

local function raw(name)
  local v = os.getenv(name)
  if v == "" then return nil end
  return v
end

function env.get(name, default)
  local v = raw(name)
  if v == nil then return default end
  return v
end

function env.number(name, default)
  local v = raw(name)
  if v == nil then return default end
  local n = tonumber(v)
  if n == nil then error(("environment variable %s: not a number: %q"):format(name, v), 2) end
  return n
end

local truthy = { ["1"] = true, ["true"] = true, yes = true, on = true }
local falsy = { ["0"] = true, ["false"] = true, no = true, off = true }

function env.bool(name, default)
  local v = raw(name)
  if v == nil then return default end
  v = v:lower()
  if truthy[v] then return true end
  if falsy[v] then return false end
  error(("environment variable %s: expected on/off, true/false, yes/no or 1/0, got %q"):format(name, v), 2)
end

function env.require(name)
  local v = raw(name)
  if v == nil then error(("environment variable %s is required but not set"):format(name), 2) end
  return v
end

return setmetatable(env, {
  __index = function(_, name) return raw(name) end,
})
