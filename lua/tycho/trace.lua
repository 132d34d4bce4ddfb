-- tycho.trace — the running request's trace (docs/routes.md, "Telemetry").
--
--   local trace = require "tycho.trace"
--   local sp = trace.current()        -- the innermost active span, nil outside a request
--   sp.trace_id, sp.span_id, sp.sampled
--   sp:set_attribute("order.id", id)   -- a string, number, boolean or array of strings
--   sp:add_event("cache miss", { key = k })
--   sp:record_error(err)
--   local a, b = trace.span("load order", { ["order.id"] = id }, function(x)
--     ...                              -- a child span, current in here (across yields too)
--     return a, b
--   end, x)
--   trace.headers()                    -- traceparent, tracestate, X-Amzn-Trace-Id for a call
local C = require "tycho._trace"
local protect = require "tycho.protect"

local start, finish, describe = C.start, C.finish, C.describe
local traceback, type, error = debug.traceback, type, error

local M = { current = C.current, headers = C.headers }

-- span(name, attrs, fn, ...) or span(name, fn, ...): runs fn(...) inside a
-- child span of the innermost active span and returns fn's results. An error
-- ends the span with status ERROR and an exception event, then propagates
-- unchanged. Outside a request fn just runs.
-- Bad arguments raise at the caller's line, not in this file.
local function check(name, attrs, fn)
  local problem
  if type(name) ~= "string" then
    problem = "name must be a string, got " .. type(name)
  elseif attrs ~= nil and type(attrs) ~= "table" then
    problem = "attrs must be a table or nil, got " .. type(attrs)
  elseif type(fn) ~= "function" then
    problem = "fn must be a function, got " .. type(fn)
  end
  if problem then error("tycho.trace.span(name, attrs, fn, ...): " .. problem, 3) end
end

function M.span(name, attrs, fn, ...)
  if type(attrs) == "function" then return M.span(name, nil, attrs, fn, ...) end
  check(name, attrs, fn)
  -- start raises for an attribute value it cannot take; called through
  -- pcall its message has no position, and gets the caller's
  local started, s = protect.pcall(start, name, attrs)
  if not started then error(s, 2) end
  if not s then return fn(...) end
  local tb
  local function handler(e, nomem)
    if nomem then -- the memory error goes on once this returns: the span ends here
      finish(s, true, e)
    else
      tb = traceback(describe(e), 2)
    end
    return e
  end
  local function close(ok, ...)
    if ok then
      finish(s)
      return ...
    end
    local err = ...
    finish(s, true, describe(err), tb)
    error(err, 0)
  end
  return close(protect.xpcall(fn, handler, ...))
end

return M
