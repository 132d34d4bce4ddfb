-- A Lua error in a handler: 500 JSON with the request id, one JSON log line
-- with route, request id, error and traceback; the runtime keeps serving.
local t = require "tycho.test"
local here = debug.getinfo(1, "S").source:match("^@(.*)/[^/]+$") or "spec"
local basic = dofile(here .. "/fixtures/serve.lua")("basic")

describe("handler errors", function()
  setup(basic.setup)
  teardown(basic.teardown)

  it("answers 500 with the request id and logs error + traceback", function()
    t.capture_logs()
    local res = t.get("/boom", { request_id = "rid-boom" })
    local logs = t.logs()
    t.capture_logs(false)
    assert.equal(500, res.status)
    assert.same({ error = "internal error", request_id = "rid-boom" }, res.body)
    assert.equal(1, #logs)
    local line = logs[1]
    assert.equal("error", line.level)
    assert.equal("handler error", line.msg)
    assert.equal("/boom", line.route)
    assert.equal("GET", line.method)
    assert.equal("rid-boom", line.request_id)
    assert.matches("basic/api.lua:%d+: kaboom", line.error)
    assert.matches("stack traceback", line.traceback)
    assert.matches("basic/api.lua:%d+$", line.handler)
  end)

  it("gives the traceback's top frame its line after a runtime error", function()
    t.capture_logs()
    assert.equal(500, t.get("/boom-index").status)
    local logs = t.logs()
    t.capture_logs(false)
    local line = logs[1]
    local at = line.error:match("^(.-basic/api%.lua:%d+): attempt to index local 't'")
    assert.is_string(at, line.error)
    -- every frame names its line; the top one is where the error happened
    assert.truthy(line.traceback:find("\nstack traceback:\n\t" .. at .. ": in function 'field_of'", 1, true),
      line.traceback)
    assert.matches("basic/api%.lua:%d+: in function <", line.traceback)
  end)

  it("describes non-string error values", function()
    t.capture_logs()
    assert.equal(500, t.get("/boom-table").status)
    local logs = t.logs()
    t.capture_logs(false)
    assert.equal("(error object is a table value)", logs[1].error)
  end)

  it("reads error objects raw: their metamethods are not run (they could raise or hang)", function()
    for path, text in pairs {
      ["/boom-strict"] = "boom", -- __index raises for any missing field
      ["/boom-tostring"] = "(error object is a table value)", -- __tostring raises
      ["/boom-waits"] = "(error object is a table value)", -- __index waits
    } do
      t.capture_logs()
      local res = t.get(path, { request_id = "rid-raw" })
      local logs = t.logs()
      t.capture_logs(false)
      assert.equal(500, res.status, path)
      assert.same({ error = "internal error", request_id = "rid-raw" }, res.body)
      assert.equal(1, #logs, path)
      assert.equal("handler error", logs[1].msg)
      assert.equal(text, logs[1].error, path)
    end
    local res = t.get("/http-error-strict", { request_id = "rid-418" })
    assert.equal(418, res.status)
    assert.same({ error = "teapot", request_id = "rid-418" }, res.body)
    assert.equal(200, t.get("/users/1").status)
  end)

  it("turns tycho.error(status, message) into that response, not a crash", function()
    t.capture_logs()
    local res = t.get("/http-error", { request_id = "rid-409" })
    local logs = t.logs()
    t.capture_logs(false)
    assert.equal(409, res.status)
    assert.same({ error = "already exists", request_id = "rid-409" }, res.body)
    assert.equal(0, #logs)
  end)

  it("words an HTTP error raised without a message as its status's reason phrase", function()
    assert.same({ error = "not found", request_id = "rid-bare" },
      t.get("/http-error-bare/404", { request_id = "rid-bare" }).body)
    assert.equal("service unavailable", t.get("/http-error-bare/503").body.error)
    assert.equal("too many requests", t.get("/raw-error-bare").body.error)
    assert.equal("error", t.get("/http-error-bare/499").body.error) -- no registered phrase
  end)

  it("answers tycho.error's whole message, NUL bytes included", function()
    local res = t.get("/http-error-nul")
    assert.equal(400, res.status)
    -- as tycho writes a NUL in any JSON body (tycho.json cannot decode it back)
    assert.equal("a\\u0000b", res.raw:match '^{"error":"(.-)"')
  end)

  it("refuses a tycho.error status outside 400..599 at the call, naming it", function()
    for s, shown in pairs { ["302"] = "302", ["201"] = "201", ["600"] = "600", ["404.5"] = "404.5",
                            ["x404"] = 'the string "x404"' } do
      t.capture_logs()
      local res = t.get("/http-error-status/" .. s)
      local logs = t.logs()
      t.capture_logs(false)
      assert.equal(500, res.status, s)
      assert.equal("handler error", logs[1].msg)
      assert.equal("basic/api.lua", logs[1].error:match "fixtures/(basic/api%.lua):%d+: tycho%.error: ", s)
      assert.matches("status must be an integer 400..599, got " .. shown:gsub("%p", "%%%0") .. "$", logs[1].error)
    end
    local ok, err = pcall(require("tycho").error, "404", "x")
    assert.is_false(ok)
    assert.matches('got the string "404"', err)
  end)

  it("refuses a tycho.error message that is not a string at the call; writes a number", function()
    local tycho = require "tycho"
    local ok, err = pcall(tycho.error, 400, { field = "bad" })
    assert.is_false(ok)
    assert.equal("tycho.error: message must be a string, got a table", err)
    ok, err = pcall(tycho.error, 400, true)
    assert.is_false(ok)
    assert.equal("tycho.error: message must be a string, got a boolean", err)
    ok, err = pcall(tycho.error, 404, 42)
    assert.is_false(ok)
    assert.same({ 404, "42" }, { err.status, err.message })
    ok, err = pcall(tycho.error, 404)
    assert.is_nil(err.message) -- the reason phrase is answered
  end)

  it("says why an error table's status that is not 400..599 answers 500", function()
    for s, given in pairs { ["302"] = "302", ["x"] = "x" } do
      t.capture_logs()
      local res = t.get("/raw-error-status/" .. s)
      local logs = t.logs()
      t.capture_logs(false)
      assert.equal(500, res.status, s)
      local why
      for _, l in ipairs(logs) do
        if l.msg:find("not an HTTP error status", 1, true) then why = l end
      end
      assert.is_table(why, s)
      assert.equal(given, why.status_given)
      assert.equal("/raw-error-status/:s", why.route)
    end
    t.capture_logs()
    assert.equal(409, t.get("/http-error").status) -- a valid status: no such line
    local logs = t.logs()
    t.capture_logs(false)
    assert.equal(0, #logs)
  end)

  it("keeps serving after errors", function()
    for _ = 1, 20 do t.get("/boom") end
    assert.equal(200, t.get("/users/1").status)
  end)
end)
