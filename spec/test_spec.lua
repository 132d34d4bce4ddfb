-- tycho.test's in-process requests answer as `tycho serve` does (no body for
-- HEAD), refuse a misspelt option, and tell when a pending one is done.
local t = require "tycho.test"
local here = debug.getinfo(1, "S").source:match("^@(.*)/[^/]+$") or "spec"
local basic = dofile(here .. "/fixtures/serve.lua")("basic")

describe("tycho.test requests", function()
  setup(basic.setup)
  teardown(basic.teardown)

  it("give no body for HEAD, as serve sends none", function()
    assert.same({ who = "me" }, t.get("/users/me").body)
    local res = t.head("/users/me")
    assert.equal(200, res.status)
    assert.equal("", res.raw)
    assert.equal("", res.body)
    assert.equal("application/json", res.headers["content-type"])
  end)

  it("refuse an option they do not have, naming it, at the caller's line", function()
    local ok, err = pcall(function() t.get("/users/me", { header = { ["X-A"] = "1" } }) end)
    assert.is_false(ok)
    assert.matches("^[^:]*test_spec%.lua:%d+: tycho%.test%.request: unknown option 'header' "
      .. "%(headers, body, peer_ip, request_id%)$", err)
    ok, err = pcall(function() t.start("GET", "/users/me", { bdy = "x" }) end)
    assert.matches("test_spec%.lua:%d+: tycho%.test%.request: unknown option 'bdy'", err)
    ok, err = pcall(function() t.request("GET", "/users/me", { peer = "10.0.0.1" }) end)
    assert.matches("test_spec%.lua:%d+: tycho%.test%.request: unknown option 'peer'", err)
  end)

  it("are done once answered or cancelled", function()
    local p = t.start("GET", "/sleep/200")
    assert.is_false(p:done())
    assert.is_true(p:cancel())
    assert.is_true(p:done())
    p = t.start("GET", "/users/me")
    p:wait()
    assert.is_true(p:done())
    assert.is_false(p:cancel())
    assert.is_true(p:done())
  end)
end)

-- The server's verdicts on these request lines (tests/integration's
-- test_conformance.sh sends the same over a socket): a spec must not route
-- what `tycho serve` refuses.
describe("tycho.test request lines", function()
  setup(basic.setup)
  teardown(basic.teardown)

  local function refused(res, status, reason)
    assert.equal(status, res.status)
    assert.equal(reason, res.body.error)
    assert.is_string(res.body.request_id)
    assert.is_nil(res.route)
  end

  it("are refused as the server refuses them", function()
    refused(t.get("/users/me#x"), 400, "fragment in request-target")
    refused(t.get("/users/m e"), 400, "Expected HTTP/")
    refused(t.get("/caf\195\169"), 400, "Invalid char in url path")
    refused(t.get("/a\1b"), 400, "Invalid char in url path")
    refused(t.request("get", "/users/me"), 501, "method not implemented")
    refused(t.request("GET", "*"), 400, "asterisk-form target is only valid for OPTIONS")
    refused(t.head("/users/me#x"), 400, "fragment in request-target")
    refused(t.get("/" .. ("a"):rep(9000)), 414, "request-target too long")
  end)

  it("take the forms the server takes: OPTIONS * and absolute-form", function()
    local res = t.request("OPTIONS", "*")
    assert.equal(204, res.status)
    assert.truthy(res.headers["allow"]:find("GET", 1, true))
    res = t.get("http://example.com/users/me?a=1")
    assert.equal(200, res.status)
    assert.same({ who = "me" }, res.body)
  end)

  it("take an absolute-form target's authority as the host, as the server does", function()
    -- integration.http_conformance sends the same to the real server
    local res = t.get("http://e.com:8080/echo?a=1", { headers = { Host = "other" } })
    assert.equal(200, res.status)
    assert.equal("e.com:8080", res.body.host)
    assert.equal("/echo", res.body.path)
    assert.same({ a = "1" }, res.body.query)
    assert.equal("e.com:8080", t.get("http://e.com:8080/echo", { headers = { host = "x" } }).body.host)
    -- a Host is there whenever the server would answer: none given, the authority's
    assert.equal("api.example", t.get("https://api.example/echo").body.host)
    -- an origin-form target keeps the Host given
    assert.equal("other", t.get("/echo", { headers = { Host = "other" } }).body.host)
    assert.is_nil(t.get("/echo").body.host)
  end)

  it("with CR or LF are what the server reads in the bytes, or an error", function()
    refused(t.get("/users/me\r\nX-A: 1"), 505, "HTTP version not supported")
    refused(t.get("/a\rb"), 400, "Expected CRLF")
    -- the server would read GET /users/me, with a field X-A: "1 HTTP/1.1"
    local ok, err = pcall(t.get, "/users/me HTTP/1.1\r\nX-A: 1")
    assert.is_false(ok)
    assert.matches("not one request line %(CR or LF in it%)", err)
  end)
end)
