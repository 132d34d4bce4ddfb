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

local start, finish, describe = C.start, C.finish, C.describe
local traceback, xpcall, type, error = debug.traceback, xpcall, type, error

local M = { current = C.current, headers = C.headers }

-- span(name, attrs, fn, ...) or span(name, fn, ...): runs fn(...) inside a
-- child span of the innermost active span and returns fn's results. An error
-- ends the span with status ERROR and an exception event, then propagates
-- unchanged. Outside a request fn just runs.
function M.span(name, attrs, fn, ...)
  if type(attrs) == "function" then return M.span(name, nil, attrs, fn, ...) end
  if type(fn) ~= "function" then
    error("tycho.trace.span(name, attrs, fn, ...): fn must be a function, got a " .. type(fn), 2)
  end
  local s = start(name, attrs)
  if not s then return fn(...) end
  local tb
  local function handler(e)
    tb = traceback(describe(e), 2)
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
  return close(xpcall(fn, handler, ...))
end

return M
