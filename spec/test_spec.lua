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
