-- tycho.trace and the request's telemetry as a handler sees it: one server
-- span per request, log lines carrying the request's ids, child spans that
-- stay current across yields (and only for their own request), incoming
-- traceparent / X-Amzn-Trace-Id continued, malformed ones ignored.
local t = require "tycho.test"
local trace = require "tycho.trace"
local raw_logs = require("tycho._test").logs

local HERE = debug.getinfo(1, "S").source:match "^@(.*)/[^/]*$" or "."
local telemetry = dofile(HERE .. "/fixtures/serve.lua")("telemetry")
local FIXTURES = telemetry.dir

local TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"
local PARENT = "00f067aa0ba902b7"

local function by_name(spans)
  local out = {}
  for _, s in ipairs(spans) do out[s.name] = s end
  return out
end

local function event(span, name)
  for _, e in ipairs(span.events) do
    if e.name == name then return e end
  end
end

local function lines(msg)
  local out = {}
  for _, rec in ipairs(t.logs()) do
    if type(rec) == "table" and rec.msg == msg then out[#out + 1] = rec end
  end
  return out
end

describe("tycho.trace", function()
  setup(telemetry.setup)
  teardown(telemetry.teardown)
  before_each(function() t.spans() end)
  after_each(function() t.capture_logs(false) end)

  describe("the server span", function()
    it("is exactly one per request, with the ids the handler sees", function()
      local res = t.get("/trace/ids?x=1", { headers = { ["User-Agent"] = "spec" } })
      assert.equal(200, res.status)
      local spans = t.spans()
      assert.equal(1, #spans)
      local s = spans[1]
      assert.equal("SERVER", s.kind)
      assert.equal("GET /trace/ids", s.name)
      assert.equal(res.body.trace_id, s.trace_id)
      assert.equal(res.body.span_id, s.span_id)
      assert.is_true(res.body.sampled)
      assert.is_nil(s.parent_span_id)
      assert.equal("/trace/ids", s.attributes["http.route"])
      assert.equal(200, s.attributes["http.response.status_code"])
      assert.equal("x=1", s.attributes["url.query"])
      assert.equal("spec", s.attributes["user_agent.original"])
      assert.equal("UNSET", s.status)
      assert.matches("^%x+$", s.trace_id)
      assert.equal(32, #s.trace_id)
      assert.equal(16, #s.span_id)
    end)

    it("is ERROR with an exception event when the handler raises", function()
      t.capture_logs()
      local res = t.get("/trace/error", { request_id = "req-error-1" })
      assert.equal(500, res.status)
      local s = t.spans()[1]
      assert.equal("ERROR", s.status)
      local e = event(s, "exception")
      assert.truthy(e)
      assert.equal("LuaError", e.attributes["exception.type"])
      assert.matches("boom", e.attributes["exception.message"])
      assert.matches("stack traceback", e.attributes["exception.stacktrace"])
      -- the "handler error" line names the request and its trace, request_id once
      local rec = lines("handler error")[1]
      assert.equal("req-error-1", rec.request_id)
      assert.equal(s.trace_id, rec.trace_id)
      assert.equal(s.span_id, rec.span_id)
      local line = raw_logs():match '[^\n]*"msg":"handler error"[^\n]*'
      local _, n = line:gsub('"request_id"', "")
      assert.equal(1, n)
    end)

    it("keeps a long error's message, cut, and its stack trace's frames", function()
      assert.equal(500, t.get("/trace/long-error").status)
      local spans = by_name(t.spans())
      local s, c = spans["GET /trace/long-error"], spans["long child"]
      assert.equal("ERROR", s.status)
      assert.matches("^.*trace%.lua:%d+: EEEE+$", s.status_message)
      assert.is_true(#s.status_message > 8000 and #s.status_message <= 8192, #s.status_message)
      local e = event(s, "exception")
      assert.equal(s.status_message, e.attributes["exception.message"])
      local tb = e.attributes["exception.stacktrace"]
      assert.is_true(#tb > 8000 and #tb <= 8192, #tb)
      assert.matches("stack traceback:", tb)
      -- cut on a character boundary: a two-byte character is never split
      assert.equal("ERROR", c.status)
      assert.equal(("\u{e9}"):rep(4096), c.status_message)
      assert.equal(c.status_message, event(c, "exception").attributes["exception.message"])
    end)

    it("is ERROR when the handler records an error but answers 200", function()
      local res = t.get("/trace/record-error")
      assert.equal(200, res.status)
      local s = t.spans()[1]
      assert.equal("ERROR", s.status)
      assert.equal("handled but bad", event(s, "exception").attributes["exception.message"])
    end)

    it("records a table error by its own message, and refuses nil", function()
      local b = t.get("/trace/record-error-values").body
      local spans = by_name(t.spans())
      assert.equal("out of stock", event(spans.table, "exception").attributes["exception.message"])
      assert.equal("out of stock", spans.table.status_message)
      assert.equal("custom", event(spans.tostring, "exception").attributes["exception.message"])
      assert.is_false(b.ok)
      assert.matches("fixtures/telemetry/trace%.lua:%d+: bad argument #1 to 'record_error' %(an error", b.err)
    end)

    it("takes attributes and events from the handler", function()
      t.get("/trace/attributes")
      local spans = by_name(t.spans())
      local s = spans["GET /trace/attributes"]
      assert.equal("u-1", s.attributes["app.user"])
      assert.equal(3, s.attributes["app.count"])
      assert.equal(0.5, s.attributes["app.ratio"])
      assert.equal(true, s.attributes["app.flag"])
      assert.same({ "a", "b" }, s.attributes["app.tags"]) -- a string array
      assert.same({}, s.attributes["app.none"])
      local e = event(s, "cache miss")
      assert.equal("k1", e.attributes.key)
      assert.equal(2, e.attributes.size)
      assert.same({ "l1", "l2" }, e.attributes.tried)
      local c = spans.child
      assert.equal("load", c.attributes["app.step"])
      assert.equal("yes", c.attributes["app.inner"])
      assert.truthy(event(c, "inner event"))
    end)

    it("keeps the server span's HTTP attributes when the handler sets as many as the limit", function()
      t.get("/trace/many-attributes/200?q=1", { headers = { ["User-Agent"] = "spec" } })
      local s = by_name(t.spans())["GET /trace/many-attributes/:n"]
      local a = s.attributes
      assert.equal("GET", a["http.request.method"])
      assert.equal("/trace/many-attributes/:n", a["http.route"])
      assert.equal("/trace/many-attributes/200", a["url.path"])
      assert.equal("q=1", a["url.query"])
      assert.equal(200, a["http.response.status_code"])
      assert.equal("spec", a["user_agent.original"])
      local n = 0
      for _ in pairs(a) do n = n + 1 end
      assert.is_true(n <= 128, n)
      -- 128 (OTEL_SPAN_ATTRIBUTE_COUNT_LIMIT) less the 16 kept for tycho's keys
      assert.equal(112, a["app.a112"])
      assert.is_nil(a["app.a113"])
      assert.equal(200 - 112, s.dropped_attributes)
    end)

    it("say which argument is wrong at the caller's line", function()
      for _, case in ipairs {
        { { nil, function() end }, "name must be a string, got nil" },
        { { "x", 5, function() end }, "attrs must be a table or nil, got number" },
        { { "x", {}, 5 }, "fn must be a function, got number" },
        { { "x", { a = function() end }, function() end }, 'tycho.trace: attribute "a" must be' },
      } do
        local args = case[1]
        local ok, err = pcall(function() trace.span(args[1], args[2], args[3]) end)
        assert.is_false(ok)
        assert.equal("trace_spec.lua", err:match "([%w_]+%.lua):%d+: ", case[2])
        assert.truthy(err:find(case[2], 1, true), err)
      end
    end)

    it("refuses attribute values OpenTelemetry cannot hold", function()
      local b = t.get("/trace/bad-attribute").body
      local want = 'attribute "x" must be a string, number, boolean or array of strings, not '
      assert.truthy(b.err:find(want .. "a function", 1, true), b.err)
      assert.truthy(b.map:find(want .. "a table that is not an array (keys 1..n)", 1, true), b.map)
      assert.truthy(b.mixed:find(want .. "an array holding a number (item 2)", 1, true), b.mixed)
      assert.truthy(b.holes:find(want .. "a table that is not an array (keys 1..n)", 1, true), b.holes)
      assert.truthy(b.nested:find(want .. "an array holding a table (item 1)", 1, true), b.nested)
      assert.equal("tycho.trace: " .. want .. "nil", b.none)
      assert.is_false(b.ok2)
      assert.matches('attribute "y"', b.err2)
    end)

    it("refuses attribute names that are not strings, as metrics refuse label names", function()
      local b = t.get("/trace/bad-key").body
      assert.equal("tycho.trace: set_attribute: key must be a string, got number", b.number)
      assert.equal("tycho.trace: set_attribute: key must be a string, got boolean", b.boolean)
      assert.matches("tycho.trace: empty attribute name", b.empty, 1, true)
      -- set_attribute names its argument (it said "attribute names are strings, not a nil")
      assert.equal("tycho.trace: set_attribute: key must be a string, got nil", b.missing)
      assert.equal("tycho.trace: set_attribute: key must be a string, got table", b.table)
      assert.matches("tycho.trace: attribute names are strings, not a number", b.start, 1, true)
      assert.matches("tycho.trace: attribute names are strings, not a number", b.event, 1, true)
      local s = by_name(t.spans())["GET /trace/bad-key"]
      assert.is_nil(s.attributes["1"])
      assert.is_nil(s.attributes["true"])
      assert.is_nil(s.attributes[""])
    end)

    it("ignores a span handle kept after its request ended", function()
      local kept = t.get("/trace/keep").body
      t.spans()
      local b = t.get("/trace/use-kept").body
      assert.equal(kept.span_id, b.kept)
      assert.are_not.equal(b.kept, b.now)
      local s = t.spans()[1]
      assert.equal("UNSET", s.status)
      assert.is_nil(s.attributes.stale)
    end)
  end)

  describe("log lines", function()
    it("carry request_id, trace_id and the current span_id", function()
      t.capture_logs()
      local res = t.get("/trace/log", { request_id = "req-log-1" })
      local server, child = res.body.server, res.body.child
      local function check(msg, span_id)
        local rec = lines(msg)[1]
        assert.truthy(rec, msg)
        assert.equal("req-log-1", rec.request_id)
        assert.equal(server.trace_id, rec.trace_id)
        assert.equal(span_id, rec.span_id)
      end
      check("spec: in the handler", server.span_id)
      check("spec: in the child", child)
      check("spec: after the child", server.span_id)
      local spans = by_name(t.spans())
      assert.equal(child, spans.logged.span_id)
    end)
  end)

  describe("child spans", function()
    it("nest, and stay current across sleeps while other requests run", function()
      t.capture_logs()
      local a = t.start("GET", "/trace/nested/30")
      local b = t.start("GET", "/trace/nested/10")
      local ra, rb = a:wait().body, b:wait().body
      local spans = t.spans()
      assert.equal(6, #spans)
      for _, r in ipairs { ra, rb } do
        assert.equal(r.outer_before, r.outer_after)
        assert.equal(r.outer_before, r.outer_end)
        assert.equal(r.inner_before, r.inner_after)
        assert.are_not.equal(r.outer_before, r.inner_before)
        assert.equal(r.server.span_id, r.server_end)
        local mine = {}
        for _, s in ipairs(spans) do
          if s.trace_id == r.server.trace_id then mine[s.name] = s end
        end
        local server, outer, inner = mine["GET /trace/nested/:ms"], mine.outer, mine.inner
        assert.equal(r.server.span_id, server.span_id)
        assert.equal(r.outer_before, outer.span_id)
        assert.equal(server.span_id, outer.parent_span_id)
        assert.equal(r.inner_before, inner.span_id)
        assert.equal(outer.span_id, inner.parent_span_id)
        assert.equal("INTERNAL", outer.kind)
        assert.is_false(outer.parent_is_remote)
        assert.is_true(outer.duration >= inner.duration)
        assert.is_true(inner.start >= outer.start)
      end
      assert.are_not.equal(ra.server.trace_id, rb.server.trace_id)
      -- the log line inside inner names inner, in each request
      local seen = {}
      for _, rec in ipairs(lines "spec: in inner") do seen[rec.span_id] = rec.trace_id end
      assert.equal(ra.server.trace_id, seen[ra.inner_before])
      assert.equal(rb.server.trace_id, seen[rb.inner_before])
    end)

    it("hold the spans and log lines of tycho.all's functions called inside them", function()
      t.capture_logs()
      local res = t.get("/trace/all")
      local logs = t.logs()
      assert.equal(200, res.status)
      local b = res.body
      local spans = by_name(t.spans())
      -- a's own span is a child of fanout; b and a third call outside any
      -- span answer the span current where tycho.all was called
      assert.equal(b.fanout, spans["fanout"].span_id)
      assert.equal(b.fanout, spans["in-a"].parent_span_id)
      assert.equal(b.a, spans["in-a"].span_id)
      assert.equal(b.fanout, b.b)
      assert.equal(b.server, b.c)
      assert.equal(b.server, spans["fanout"].parent_span_id)
      local by_msg = {}
      for _, l in ipairs(logs) do by_msg[l.msg] = l end
      assert.equal(b.a, by_msg["spec: in a's span"].span_id)
      assert.equal(b.fanout, by_msg["spec: in b"].span_id)
      assert.equal(spans["fanout"].trace_id, by_msg["spec: in b"].trace_id)
    end)

    it("pass fn's results through", function()
      local b = t.get("/trace/results").body
      assert.equal(3, b.a)
      assert.equal("two", b.b)
      assert.is_true(b.c)
      assert.equal(3, b.n)
    end)

    it("keep a name longer than the span's byte budget, cut", function()
      local b = t.get("/trace/long-name").body
      local spans = t.spans()
      assert.equal(2, #spans)
      local child = spans[1]
      assert.equal(b.id, child.span_id)
      assert.equal(16384, #child.name)
      assert.equal(string.rep("n", 16384), child.name)
    end)

    it("end ERROR with an exception event and re-raise the error unchanged", function()
      local b = t.get("/trace/child-error").body
      assert.is_false(b.ok)
      assert.matches("kaput", b.err)
      assert.is_false(b.ok2)
      assert.equal(404, b.status2)
      local spans = by_name(t.spans())
      local server = spans["GET /trace/child-error"]
      assert.equal(server.span_id, b.after)
      assert.equal("UNSET", server.status)
      local risky = spans.risky
      assert.equal("ERROR", risky.status)
      assert.matches("kaput", risky.status_message)
      assert.matches("kaput", event(risky, "exception").attributes["exception.message"])
      assert.matches("stack traceback", event(risky, "exception").attributes["exception.stacktrace"])
      assert.equal("one", risky.attributes.step)
      assert.equal("nope", spans["http-error"].status_message)
    end)

    it("fail the request when their error is not caught", function()
      local res = t.get("/trace/error-in-span")
      assert.equal(500, res.status)
      local spans = by_name(t.spans())
      assert.equal("ERROR", spans.doomed.status)
      assert.equal("ERROR", spans["GET /trace/error-in-span"].status)
    end)

    it("end with their request when the client goes away, marked as closed by the server", function()
      local p = t.start("GET", "/trace/nested/200")
      require("tycho.time").sleep(0.05)
      assert.is_true(p:cancel())
      collectgarbage "collect" -- the abandoned coroutine
      local spans = by_name(t.spans())
      local server = spans["GET /trace/nested/:ms"]
      assert.equal("ERROR", server.status)
      assert.equal(server.span_id, spans.outer.parent_span_id)
      assert.is_true(spans.outer.attributes["tycho.span.closed_by_server"])
      assert.is_nil(spans.inner) -- not started yet
      assert.equal(200, t.get("/trace/ids").status) -- the next request is fine
    end)

    it("end with the request on a handler timeout, and the timeout line names it", function()
      local timeout = t.set_limits {}
      finally(function() t.set_limits { handler_timeout = timeout } end)
      t.set_limits { handler_timeout = 0.05 }
      t.capture_logs()
      local res = t.get("/trace/nested/100", { request_id = "req-timeout-1" })
      assert.equal(504, res.status)
      local spans = by_name(t.spans())
      local server = spans["GET /trace/nested/:ms"]
      assert.equal("ERROR", server.status)
      assert.is_true(spans.outer.attributes["tycho.span.closed_by_server"])
      assert.is_true(spans.outer.start + spans.outer.duration <= server.start + server.duration)
      local rec = lines("handler timeout: still waiting after TYCHO_HANDLER_TIMEOUT")[1]
      assert.equal("req-timeout-1", rec.request_id)
      assert.equal("GET", rec.method) -- as every line about how a handler ended
      assert.equal(server.trace_id, rec.trace_id)
      assert.equal(server.span_id, rec.span_id)
      collectgarbage "collect"
    end)

    it("are plain calls outside a request", function()
      assert.is_nil(trace.current())
      assert.is_nil(trace.headers())
      assert.equal(5, trace.span("outside", { a = 1 }, function(x) return x end, 5))
      assert.equal(6, trace.span("outside", function(x) return x end, 6))
      assert.equal(0, #t.spans())
      assert.has_error(function() trace.span("x", {}, 5) end)
    end)
  end)

  describe("incoming context", function()
    local function one(headers)
      local res = t.get("/trace/ids", { headers = headers })
      local spans = t.spans()
      return res.body, spans[1], #spans
    end

    it("continues a W3C traceparent", function()
      local body, s = one { traceparent = ("00-%s-%s-01"):format(TRACE, PARENT),
                            tracestate = "vendor=v1,other=x" }
      assert.equal(TRACE, body.trace_id)
      assert.equal(TRACE, s.trace_id)
      assert.equal(PARENT, s.parent_span_id)
      assert.is_true(s.parent_is_remote)
      assert.are_not.equal(PARENT, s.span_id)
      assert.equal("vendor=v1,other=x", s.trace_state)
    end)

    it("passes the incoming trace state on to every child span", function()
      t.get("/trace/nested/0", { headers = { traceparent = ("00-%s-%s-01"):format(TRACE, PARENT),
                                             tracestate = "vendor=v1" } })
      local spans = t.spans()
      assert.equal(3, #spans)
      for _, s in ipairs(spans) do assert.equal("vendor=v1", s.trace_state, s.name) end
    end)

    it("follows an unsampled parent: no spans, ids still there", function()
      t.capture_logs()
      local res = t.get("/trace/log", { headers = { traceparent = ("00-%s-%s-00"):format(TRACE, PARENT) } })
      assert.equal(TRACE, res.body.server.trace_id)
      assert.is_false(res.body.server.sampled)
      assert.matches("^%x+$", res.body.child)
      assert.are_not.equal(res.body.server.span_id, res.body.child)
      assert.equal(0, #t.spans())
      local rec = lines("spec: in the child")[1]
      assert.equal(TRACE, rec.trace_id)
      assert.equal(res.body.child, rec.span_id)
      local b = t.get("/trace/attributes", { headers = { traceparent = ("00-%s-%s-00"):format(TRACE, PARENT) } })
      assert.equal(200, b.status)
    end)

    it("continues X-Amzn-Trace-Id with a Parent", function()
      local body, s = one { ["X-Amzn-Trace-Id"] = "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1" }
      assert.equal("5759e988bd862e3fe1be46a994272793", body.trace_id)
      assert.equal("5759e988bd862e3fe1be46a994272793", s.trace_id)
      assert.equal("53995c3f42cd8ad8", s.parent_span_id)
      assert.is_true(s.parent_is_remote)
    end)

    it("adopts an ALB's X-Amzn-Trace-Id Root as the trace id", function()
      local body, s = one { ["X-Amzn-Trace-Id"] = "Root=1-67891233-abcdef012345678912345678" }
      assert.equal("67891233abcdef012345678912345678", body.trace_id)
      assert.equal(body.trace_id, s.trace_id)
      assert.is_nil(s.parent_span_id)
    end)

    it("prefers traceparent over X-Amzn-Trace-Id", function()
      local body = one { traceparent = ("00-%s-%s-01"):format(TRACE, PARENT),
                         ["X-Amzn-Trace-Id"] = "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1" }
      assert.equal(TRACE, body.trace_id)
    end)

    local malformed = {
      ["uppercase hex"] = { traceparent = "00-4BF92F3577B34DA6A3CE929D0E0E4736-00F067AA0BA902B7-01" },
      ["a short trace id"] = { traceparent = "00-4bf92f3577b34da6a3ce929d0e0e473-00f067aa0ba902b7-01" },
      ["a long parent id"] = { traceparent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b70-01" },
      ["an all-zero trace id"] = { traceparent = "00-00000000000000000000000000000000-00f067aa0ba902b7-01" },
      ["an all-zero parent id"] = { traceparent = "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01" },
      ["version ff"] = { traceparent = "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01" },
      ["trailing data on version 00"] = { traceparent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-x" },
      ["an X-Ray Root of the wrong length"] = { ["X-Amzn-Trace-Id"] = "Root=1-5759e988-bd862e3fe1be46a99427279;Parent=53995c3f42cd8ad8" },
      ["an all-zero X-Ray Root"] = { ["X-Amzn-Trace-Id"] = "Root=1-00000000-000000000000000000000000" },
    }
    for what, headers in pairs(malformed) do
      it("starts a new trace on " .. what, function()
        local body, s, n = one(headers)
        assert.equal(1, n)
        assert.are_not.equal(TRACE, body.trace_id)
        assert.are_not.equal("5759e988bd862e3fe1be46a994272793", body.trace_id)
        assert.equal(body.trace_id, s.trace_id)
        assert.is_nil(s.parent_span_id)
        assert.equal(32, #body.trace_id)
        assert.is_nil(body.trace_id:find "^0+$")
      end)
    end
  end)

  describe("outgoing context", function()
    it("names the innermost active span as the parent", function()
      local b = t.get("/trace/headers", { headers = { traceparent = ("00-%s-%s-01"):format(TRACE, PARENT) } }).body
      assert.equal(("00-%s-%s-01"):format(TRACE, b.ids.span_id), b.outer.traceparent)
      assert.equal(("00-%s-%s-01"):format(TRACE, b.inner.span_id), b.inner.headers.traceparent)
      assert.equal(("Root=1-%s-%s;Parent=%s;Sampled=1"):format(TRACE:sub(1, 8), TRACE:sub(9), b.inner.span_id),
        b.inner.headers["X-Amzn-Trace-Id"])
    end)
  end)
end)
