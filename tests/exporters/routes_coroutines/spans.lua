-- Child spans started inside a coroutine the handler made, for
-- test_otlp_coroutine_spans.sh (its own routes: not loaded by the other
-- tests): one coroutine left suspended inside its span for good, one
-- resumed and ended by its code.
local log = require "tycho.log"
local trace = require "tycho.trace"

return {
  { "GET", "/abandoned", function()
      local inner
      local co = coroutine.wrap(function()
        trace.span("in coroutine", function()
          inner = trace.current().span_id
          coroutine.yield() -- never resumed: the span is still open at the end
        end)
      end)
      co()
      local current = trace.current().span_id
      local parent_of_after = trace.span("after", function()
        log.info("inside after")
        return true
      end)
      log.info("main flow")
      return 200, { inner = inner, current = current, after = parent_of_after }
  end },
  { "GET", "/resumed", function()
      local seen = {}
      local co = coroutine.wrap(function()
        trace.span("resumed", function()
          seen.first = trace.current().span_id
          coroutine.yield()
          seen.again = trace.current().span_id
        end)
      end)
      co()
      seen.between = trace.current().span_id
      co()
      seen.after = trace.current().span_id
      return 200, seen
  end },
}
