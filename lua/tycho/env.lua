-- tycho.env — read the process environment with defaults and types.
--   local env = require "tycho.env"
--   env.get("TABLE", "items")      -- string, or the default when unset/empty
--   env.number("LIMIT", 10)        -- number: decimal, "10", "0.5", "-3" (error otherwise)
--   env.bool("FEATURE_X", false)   -- true for 1/true/yes/on, false for 0/false/no/off
--   env.require("QUEUE_URL")       -- error naming the variable when missing
--   env.HOME                       -- same as env.get("HOME")
-- As for tycho's own settings, a value that is empty or only blanks (an env
-- template or a quoted shell word leaves them) counts as unset everywhere,
-- and env.number and env.bool ignore the blanks around a value (" on " is
-- on); env.get and env.require return a value as it is set.
local env = {}

local function raw(name)
  local v = os.getenv(name)
  if v == nil or not v:find("%S") then return nil end
  return v
end

local function trimmed(v) return v:match("^%s*(.-)%s*$") end

function env.get(name, default)
  local v = raw(name)
  if v == nil then return default end
  return v
end

-- Numbers are written as tycho's own settings write them: decimal digits
-- with an optional fraction (and sign). tonumber alone takes 0x10 (16),
-- 1e3 and nan, which compares false to any bound and so passes every
-- range check.
local function decimal(v)
  local s = trimmed(v)
  if s:match("^%-?%d+%.?%d*$") or s:match("^%-?%.%d+$") then return tonumber(s) end
end

function env.number(name, default)
  local v = raw(name)
  if v == nil then return default end
  local n = decimal(v)
  if n == nil then
    error(("environment variable %s: not a decimal number (10, 0.5): %q"):format(name, v), 2)
  end
  return n
end

local truthy = { ["1"] = true, ["true"] = true, yes = true, on = true }
local falsy = { ["0"] = true, ["false"] = true, no = true, off = true }

function env.bool(name, default)
  local v = raw(name)
  if v == nil then return default end
  local word = trimmed(v):lower()
  if truthy[word] then return true end
  if falsy[word] then return false end
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
