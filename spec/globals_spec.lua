-- Globals a handler creates are shared by every request of the worker: the
-- first assignment of each name is reported (docs/routes.md, Handlers).
local t = require "tycho.test"
local here = debug.getinfo(1, "S").source:match("^@(.*)/[^/]+$") or "spec"
local folder = dofile(here .. "/fixtures/folder.lua")

local ROUTES = [[
loaded_at_top = "top" -- the load is not a request: not reported
local time = require "tycho.time"
return {
  { "GET", "/leak/:id", function(req)
      user = req.params.id
      time.sleep(0.05)
      return { user = user }
  end },
  { "GET", "/local", function(req)
      local mine = req.params
      return { ok = mine ~= nil, top = loaded_at_top }
  end },
  { "GET", "/read", function() return { user = user } end },
}
]]

local function warnings(logs)
  local out = {}
  for _, line in ipairs(logs) do
    if line.level == "warn" and line.global then out[#out + 1] = line end
  end
  return out
end

describe("a global assigned in a handler", function()
  local original, dir
  setup(function()
    original = t.routes_dir()
    dir = folder.new { ["g.lua"] = ROUTES }
  end)
  teardown(function()
    t.use_routes(original)
    folder.remove(dir)
  end)

  it("is reported once, with its name, line, route and handler", function()
    local file = assert(t.use_routes(dir)) and dir .. "/g.lua"
    t.capture_logs()
    -- two requests at once: the second overwrites the first one's `user`
    -- while it waits, which is what the warning is about
    local a, b = t.start("GET", "/leak/alice"), t.start("GET", "/leak/bob")
    local ra, rb = a:wait(), b:wait()
    assert.equal(200, t.get("/local").status)
    assert.equal(200, t.get("/leak/carol").status)
    local logs = t.logs()
    t.capture_logs(false)
    assert.same({ user = "bob" }, ra.body) -- alice's request answered with bob's value
    assert.same({ user = "bob" }, rb.body)
    local w = warnings(logs)
    assert.equal(1, #w)
    assert.equal("user", w[1].global)
    assert.matches("global variable", w[1].msg)
    assert.matches("declare it local", w[1].msg)
    assert.equal(file:gsub("^%./", "") .. ":5", w[1].at)
    assert.equal("/leak/:id", w[1].route)
    assert.equal(file:gsub("^%./", "") .. ":4", w[1].handler)
  end)

  it("is not reported for locals nor for a route file's top level", function()
    assert(t.use_routes(dir))
    t.capture_logs()
    local res = t.get("/local")
    local logs = t.logs()
    t.capture_logs(false)
    assert.same({ ok = true, top = "top" }, res.body)
    assert.same({}, warnings(logs))
  end)

  it("is gone after a reload, and reported again in the new generation", function()
    assert(t.use_routes(dir))
    t.capture_logs()
    t.get("/leak/dave")
    t.capture_logs(false)
    assert.same({ user = "dave" }, t.get("/read").body)
    assert(t.reload())
    assert.same({}, t.get("/read").body)
    t.capture_logs()
    t.get("/leak/erin")
    local logs = t.logs()
    t.capture_logs(false)
    assert.equal(1, #warnings(logs))
  end)
end)
