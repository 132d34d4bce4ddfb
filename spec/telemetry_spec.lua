-- routes/telemetry.lua: GET /test-telemetry
local t = require "tycho.test"
local HERE = debug.getinfo(1, "S").source:match("^@(.*)/[^/]*$") or "spec"
local app = dofile(HERE .. "/fixtures/app/helper.lua")

local SPAN = "test_telemetry.operation"

describe("GET /test-telemetry", function()
  setup(app.setup)
  teardown(app.teardown)
  before_each(function()
    app.reset() -- SIMULATED_ERROR_RATE=0
    t.spans()
  end)

  it("answers 200 with the trace id, and records a child span with attributes and an event", function()
    local before = app.count("user_actions_total", { action = "test_telemetry" })
    local res = t.get("/test-telemetry")
    assert.equal(200, res.status)
    assert.equal("Telemetry test completed", res.body.message)
    assert.is_string(res.body.timestamp)
    assert.is_number(res.body.response_time)
    assert.is_true(res.body.telemetry_enabled)
    assert.equal(before + 1, app.count("user_actions_total", { action = "test_telemetry" }))

    local spans = app.spans()
    local server, child = spans["GET /test-telemetry"], spans[SPAN]
    assert.equal(res.body.trace_id, server.trace_id)
    assert.equal("INTERNAL", child.kind)
    assert.equal(server.trace_id, child.trace_id)
    assert.equal(server.span_id, child.parent_span_id)
    assert.equal("test_telemetry", child.attributes["app.operation"])
    assert.is_number(child.attributes["app.value"])
    assert.equal("processing", child.events[1].name)
    assert.equal("validate", child.events[1].attributes["app.step"])
    assert.equal("UNSET", child.status)
  end)

  it("records a simulated error (metric, span status ERROR) and still answers 200", function()
    app.configure { SIMULATED_ERROR_RATE = 1 }
    local before = app.count("errors_total", { error_type = "simulated" })
    local res = t.get("/test-telemetry")
    assert.equal(200, res.status)
    assert.equal(before + 1, app.count("errors_total", { error_type = "simulated" }))
    local spans = app.spans()
    assert.equal("ERROR", spans[SPAN].status)
    assert.matches("simulated error", spans[SPAN].status_message)
    assert.equal("exception", spans[SPAN].events[#spans[SPAN].events].name)
    assert.equal("UNSET", spans["GET /test-telemetry"].status) -- the request itself succeeded
  end)

  it("records no error when SIMULATED_ERROR_RATE is 0", function()
    local before = app.count("errors_total", { error_type = "simulated" })
    for _ = 1, 20 do assert.equal(200, t.get("/test-telemetry").status) end
    assert.equal(before, app.count("errors_total", { error_type = "simulated" }))
  end)

  it("errs on about 10 % of requests by default", function()
    app.configure { SIMULATED_ERROR_RATE = false } -- unset: the default
    local before = app.count("errors_total", { error_type = "simulated" })
    for _ = 1, 300 do t.get("/test-telemetry") end
    local n = app.count("errors_total", { error_type = "simulated" }) - before
    assert.is_true(n >= 8 and n <= 60, n .. " errors in 300 requests")
  end)

  it("the app's counters exist at 0 before their first event (routes/_app/metrics.lua)", function()
    local metrics = require "tycho.metrics"
    assert.is_number(metrics.value("errors_total", { error_type = "invalid_message" }))
    assert.is_number(metrics.value("sqs_messages_received_total", { message_type = "other" }))
    assert.is_number(metrics.value("dynamodb_operations_total", { operation = "GetItem", status = "condition_failed" }))
  end)

  it("refuses a SIMULATED_ERROR_RATE outside 0..1 at load", function()
    for _, v in ipairs { "2", "-0.5" } do
      local ok, err = pcall(app.configure, { SIMULATED_ERROR_RATE = v })
      assert.is_false(ok, v)
      assert.matches("SIMULATED_ERROR_RATE: %S+ is out of range %(0 to 1%)", tostring(err))
    end
    -- NaN passed every comparison of the range check; tycho.env refuses it first
    local ok, err = pcall(app.configure, { SIMULATED_ERROR_RATE = "nan" })
    assert.is_false(ok)
    assert.matches('SIMULATED_ERROR_RATE: not a decimal number %(10, 0.5%): "nan"', tostring(err))
  end)
end)
