-- The C route matcher as seen through the runtime: precedence, params,
-- wildcards, 404/405/Allow, HEAD and OPTIONS, and route table errors.
local t = require "tycho.test"
local here = debug.getinfo(1, "S").source:match("^@(.*)/[^/]+$") or "spec"
local basic = dofile(here .. "/fixtures/serve.lua")("basic")

describe("router", function()
  setup(basic.setup)
  teardown(basic.teardown)

  it("prefers static over param over wildcard, whatever the declaration order", function()
    assert.same({ who = "me" }, t.get("/users/me").body)
    assert.same({ id = "42" }, t.get("/users/42").body)
    assert.equal("/users/:id", t.get("/users/42").route)
  end)

  it("backtracks to a param route when the static one lacks the method", function()
    local res = t.post("/users/me")
    assert.equal(201, res.status)
    assert.same({ created = "me" }, res.body)
  end)

  it("decodes params and captures the wildcard rest", function()
    assert.same({ id = "a b/c" }, t.get("/users/a%20b%2Fc").body)
    assert.same({ path = "css/site.css" }, t.get("/files/css/site.css").body)
    assert.same({ path = "" }, t.get("/files/").body)
    assert.equal(404, t.get("/files").status)
  end)

  it("loads routes from subfolders and string keys, skips _folders", function()
    assert.same({ nested = true }, t.get("/nested").body)
    assert.equal("put ok", t.put("/string-key").body)
    assert.same({ v = "from helper" }, t.get("/helper").body)
  end)

  it("answers unknown paths with a 404 JSON body", function()
    local res = t.get("/no/such/path", { request_id = "rid-404" })
    assert.equal(404, res.status)
    assert.same({ error = "not found", request_id = "rid-404" }, res.body)
    assert.is_nil(res.route)
  end)

  it("answers a known path with the wrong method with 405 and Allow", function()
    local res = t.delete("/users/42")
    assert.equal(405, res.status)
    assert.equal("method not allowed", res.body.error)
    assert.equal("GET, HEAD, POST, OPTIONS", res.headers.allow)
  end)

  it("falls back from HEAD to GET, and uses an explicit HEAD route when there is one", function()
    local res = t.head("/users/me")
    assert.equal(200, res.status)
    assert.equal("/users/me", res.route)
    res = t.head("/explicit-head")
    assert.equal("1", res.headers["x-head"])
  end)

  it("answers OPTIONS with Allow unless a route defines it", function()
    local res = t.options("/users/42")
    assert.equal(204, res.status)
    assert.equal("GET, HEAD, POST, OPTIONS", res.headers.allow)
    assert.equal("", res.raw)
    res = t.options("/custom-options")
    assert.equal(200, res.status)
    assert.equal("custom", res.body)
    assert.equal(404, t.options("/nope").status)
  end)

  describe("route table errors", function()
    it("rejects the same method + pattern declared in two files, naming both", function()
      local gen, err = t.use_routes(here .. "/fixtures/conflict")
      assert.is_nil(gen)
      assert.matches("conflict/b.lua:3: route GET /same/:name is already declared at .*conflict/a.lua:2", err)
    end)

    it("reports syntax errors with file:line and keeps the previous routes", function()
      local before = t.stats().generation
      local gen, err = t.use_routes(here .. "/fixtures/syntax")
      assert.is_nil(gen)
      assert.matches("syntax/broken.lua:3:", err)
      assert.equal(before, t.stats().generation)
      assert.matches("syntax/broken.lua:3:", t.stats().last_error)
      assert.same({ who = "me" }, t.get("/users/me").body) -- still serving
    end)

    it("reports a file that does not return a table, saying what a route file returns", function()
      local _, err = t.use_routes(here .. "/fixtures/badreturn")
      local want = "/badreturn/x.lua: returned nothing; a route file must return a table of its routes, "
        .. 'such as return { ["GET /hello"] = function(req) return "hi" end } (a module for require '
        .. "that is no route file needs a name starting with '_')"
      assert.equal(want, err:sub(-#want))
    end)

    it("reports runtime errors while loading with file:line", function()
      local _, err = t.use_routes(here .. "/fixtures/errors")
      assert.matches("errors/loaderr.lua:2: attempt to index local 'x'", err)
    end)

    it("reports a syntax error in a required module with the module's file:line", function()
      local _, err = t.use_routes(here .. "/fixtures/badmodule")
      assert.matches("error loading module '_lib.broken' from file '.*badmodule/_lib/broken.lua': "
        .. ".*badmodule/_lib/broken.lua:2: unexpected symbol near '='", err)
      assert.matches("%(while loading .*badmodule/uses.lua%)$", err)
      assert.is_nil(err:find("\n", 1, true))
      assert.is_nil(err:find("stack traceback", 1, true))
    end)

    it("reports a missing module with where it was looked for", function()
      local _, err = t.use_routes(here .. "/fixtures/nomodule")
      assert.matches("nomodule/uses.lua:1: module '_lib.absent' not found: .*nomodule/_lib/absent.lua", err)
      assert.is_nil(err:find("\n", 1, true))
    end)

    it("clears the last error on the next good load", function()
      assert(t.use_routes(basic.dir))
      assert.equal("", t.stats().last_error)
    end)
  end)
end)
