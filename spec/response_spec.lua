-- Handler return values -> HTTP responses.
local t = require "tycho.test"
local here = debug.getinfo(1, "S").source:match("^@(.*)/[^/]+$") or "spec"
local basic = dofile(here .. "/fixtures/serve.lua")("basic")

describe("handler results", function()
  setup(basic.setup)
  teardown(basic.teardown)

  it("encodes a table body as JSON", function()
    local res = t.get("/users/7")
    assert.equal("application/json", res.headers["content-type"])
    assert.equal('{"id":"7"}', res.raw)
    assert.equal("[1,2,3]", t.get("/array").raw)
    assert.equal('{"items":[]}', t.get("/empty-array").raw)
    assert.equal('{"a":null}', t.get("/null").raw)
  end)

  it("sends a string body as text/plain unless a Content-Type is given", function()
    local res = t.get("/")
    assert.equal("root", res.body)
    assert.equal("text/plain; charset=utf-8", res.headers["content-type"])
    res = t.get("/text")
    assert.equal("text/html", res.headers["content-type"])
  end)

  it("uses the returned status; nothing returned is 204", function()
    assert.equal(418, t.get("/status/418").status)
    local res = t.get("/nothing")
    assert.equal(204, res.status)
    assert.equal("", res.raw)
  end)

  it("sets headers: numbers, and repeated headers from arrays", function()
    local res = t.get("/headers")
    assert.equal("42", res.headers["x-number"])
    assert.same({ "a=1", "b=2" }, res.headers["set-cookie"])
  end)

  local function fails(path, message)
    t.capture_logs()
    local res = t.get(path)
    local logs = t.logs()
    t.capture_logs(false)
    assert.equal(500, res.status)
    assert.equal("internal error", res.body.error)
    assert.is_nil(res.headers["x-evil"])
    assert.is_nil(res.headers["injected"])
    local line = logs[#logs]
    assert.equal("error", line.level)
    assert.equal(path, line.route)
    assert.matches(message, line.error)
  end

  it("refuses header values with CR/LF: the handler fails, nothing of it is sent", function()
    fails("/bad-header", "response header 'X%-Evil': header value contains CR, LF or NUL")
  end)

  it("refuses framing headers, bad statuses and bad bodies", function()
    fails("/framing-header", "Content%-Length")
    fails("/bad-status", "invalid status 99")
    fails("/bad-body", "response body must be a table, a string or nil, got function")
  end)
end)
