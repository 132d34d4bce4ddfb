-- Generations: a reload swaps the routes; in-flight requests finish on the
-- handlers they started with; module state is rebuilt; nothing leaks.
local t = require "tycho.test"
local json = require "tycho.json"
local here = debug.getinfo(1, "S").source:match("^@(.*)/[^/]+$") or "spec"

describe("reload", function()
  local original
  setup(function() original = t.routes_dir() end)
  teardown(function() t.use_routes(original) end)

  it("swaps routes; removed routes are gone", function()
    local g1 = assert(t.use_routes(here .. "/fixtures/v1"))
    assert.same({ version = 1 }, t.get("/version").body)
    assert.equal("v1", t.get("/only-v1").body)
    local g2 = assert(t.use_routes(here .. "/fixtures/v2"))
    assert.equal(g1 + 1, g2)
    assert.same({ version = 2 }, t.get("/version").body)
    assert.equal(404, t.get("/only-v1").status)
  end)

  it("lets in-flight requests finish on the generation they started on", function()
    assert(t.use_routes(here .. "/fixtures/v1"))
    local retired = t.stats().retired -- (the generation this spec runs on is one)
    local old = t.start("GET", "/slow-version")
    assert(t.use_routes(here .. "/fixtures/v2"))
    assert.equal(retired + 1, t.stats().retired) -- v1 lives while its request runs
    local new = t.start("GET", "/slow-version")
    assert.same({ version = 1 }, old:wait().body)
    assert.same({ version = 2 }, new:wait().body)
    assert.equal(retired, t.stats().retired)
  end)

  it("gives server.generation() of the generation the code runs on", function()
    local folder = dofile(here .. "/fixtures/folder.lua")
    local dir = folder.new { ["g.lua"] = [[
local server = require "tycho.server"
local time = require "tycho.time"
local at_load = server.generation()
return { ["GET /gen"] = function(req)
  if req.query.wait then time.sleep(0.1) end
  return { gen = server.generation(), at_load = at_load }
end }
]] }
    local g1 = assert(t.use_routes(dir))
    local old = t.start("GET", "/gen?wait=1")
    local g2 = assert(t.reload())
    assert.same({ gen = g1, at_load = g1 }, old:wait().body) -- still running on g1
    assert.same({ gen = g2, at_load = g2 }, t.get("/gen").body)
    folder.remove(dir)
  end)

  it("rebuilds module state per generation", function()
    assert(t.use_routes(here .. "/fixtures/module_state"))
    t.get("/count")
    assert.same({ n = 2 }, t.get("/count").body)
    assert(t.reload())
    assert.same({ n = 1 }, t.get("/count").body)
  end)

  it("keeps the previous generation when a reload fails", function()
    assert(t.use_routes(here .. "/fixtures/v1"))
    local gen = t.stats().generation
    local ok, err = t.use_routes(here .. "/fixtures/conflict")
    assert.is_nil(ok)
    assert.matches("already declared", err)
    assert.equal(gen, t.stats().generation)
    assert.same({ version = 1 }, t.get("/version").body)
  end)

  it("does not leak across 1,000 reloads", function()
    assert(t.use_routes(here .. "/fixtures/v1"))
    local retired = t.stats().retired
    for _ = 1, 20 do assert(t.reload()) end
    collectgarbage()
    local base = t.stats().memory
    for i = 1, 1000 do
      assert(t.reload())
      if i % 100 == 0 then assert.equal(200, t.get("/version").status) end
    end
    collectgarbage()
    local after = t.stats().memory
    -- every retired generation's state is closed: Lua memory stays flat
    assert.is_true(after < base + 512 * 1024, ("Lua memory grew from %d to %d"):format(base, after))
    assert.equal(retired, t.stats().retired)
  end)
end)

describe("os.exit in route code under tycho serve", function()
  local http = require "tycho.http"
  local folder = dofile(here .. "/fixtures/folder.lua")

  it("fails the handler or the reload, never the server", function()
    local dir = folder.new { ["a.lua"] = [[
return {
  ["GET /a"] = function() return "a" end,
  ["GET /exit"] = function() os.exit(3) end,
}
]] }
    local srv = t.serve { routes = dir }
    finally(function()
      srv:stop()
      folder.remove(dir)
    end)
    local admin = "http://" .. srv.admin
    assert.equal(500, (http.get(srv.url "/exit")))
    assert.equal(200, (http.get(srv.url "/a"))) -- still serving
    -- a route file that gives up at load, as a command-line script would
    folder.write(dir .. "/b.lua", [[
if not os.getenv("TYCHO_SPEC_UNSET_QUEUE") then os.exit(1) end
return {}
]])
    local status, _, body = http.post(admin .. "/-/reload", { body = "" })
    assert.equal(422, status)
    assert.matches("b%.lua:1: os%.exit%(1%) called: route files and handlers cannot end the "
      .. "process", json.decode(body).error)
    local code, _, text = http.get(srv.url "/a")
    assert.equal(200, code) -- the previous routes keep serving
    assert.equal("a", text)
    local time = require "tycho.time"
    local log, deadline = "", time.monotonic() + 5
    repeat -- the server writes its log lines asynchronously
      time.sleep(0.05)
      local f = assert(io.open(srv.log))
      log = f:read "*a"
      f:close()
    until log:find("os.exit(3) called", 1, true) or time.monotonic() > deadline
    assert.matches('"msg":"handler error"[^\n]*os%.exit%(3%) called', log)
  end)
end)

describe("a failed reload under tycho serve", function()
  local http = require "tycho.http"
  local folder = dofile(here .. "/fixtures/folder.lua")

  it("fails a reload adding a route file that returns nothing, saying what it must return", function()
    local dir = folder.new { ["a.lua"] = 'return { ["GET /a"] = function() return "a" end }' }
    local srv = t.serve { routes = dir, args = { "--reload=off" } }
    finally(function()
      srv:stop()
      folder.remove(dir)
    end)
    folder.write(dir .. "/helpers.lua", "local M = {}\nfunction M.f() end\n") -- no return: a slip
    local status, _, body = http.post("http://" .. srv.admin .. "/-/reload", { body = "" })
    assert.equal(422, status)
    local want = dir .. "/helpers.lua: returned nothing; a route file must return a table of its "
      .. 'routes, such as return { ["GET /hello"] = function(req) return "hi" end } (a module for '
      .. "require that is no route file needs a name starting with '_')"
    assert.equal(want, json.decode(body).error)
    local _, _, st = http.get("http://" .. srv.admin .. "/-/status")
    assert.equal(want, json.decode(st).last_error)
    local code, _, text = http.get(srv.url "/a")
    assert.equal(200, code) -- the previous routes keep serving
    assert.equal("a", text)
  end)
end)
