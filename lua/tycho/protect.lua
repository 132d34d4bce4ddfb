-- tycho.protect — pcall and xpcall that pass a memory error on as one
-- (docs/routes.md, "tycho.protect").
--
--   local protect = require "tycho.protect"
--   local ok, err = protect.pcall(fn, ...)            -- as pcall
--   local ok, res = protect.xpcall(fn, handler, ...)  -- as xpcall
--
-- Code past TYCHO_LUA_MEMORY_LIMIT fails with a memory error, which the
-- server reports as such and collects after. pcall returns one as the string
-- "not enough memory", and error() raises that again as an ordinary error:
-- the request then reads as a plain failure, and code that judges the error
-- (a bad parameter? a missing module?) misjudges it. These never return a
-- memory error: they raise it again, a memory error still. Every other
-- error is returned as by pcall and xpcall. Both may be yielded across.
local raise_nomem = require("tycho._protect").raise_nomem
local xpcall = xpcall

local M = {}

-- LuaJIT's message of a memory error (one string, made when the state was)
local NOMEM = "not enough memory"

-- xpcall(fn, handler, ...), except for a memory error: LuaJIT calls no
-- handler inside one, so handler(err, true) runs once the stack has
-- unwound (to clean up; memory is still short then, and what it returns is
-- ignored), and the memory error is raised again.
function M.xpcall(fn, handler, ...)
  local handled = false -- set once handler has returned: the error is an ordinary one
  local function on_error(e)
    local r = handler(e)
    handled = true
    return r
  end
  local function after(ok, ...)
    if ok or handled or ... ~= NOMEM then return ok, ... end
    handler(NOMEM, true)
    return raise_nomem()
  end
  return after(xpcall(fn, on_error, ...))
end

local function identity(e) return e end

-- pcall(fn, ...), except that a memory error is raised again, as one.
function M.pcall(fn, ...)
  return M.xpcall(fn, identity, ...)
end

return M
