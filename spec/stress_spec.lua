-- Many waiting requests, random disconnects and reloads interleaved: every
-- request ends exactly once, on the generation it started on, and nothing
-- stays behind.
local t = require "tycho.test"
local here = debug.getinfo(1, "S").source:match("^@(.*)/[^/]+$") or "spec"

describe("stress", function()
  local original
  setup(function() original = t.routes_dir() end)
  teardown(function() t.use_routes(original) end)

  it("survives 600 concurrent waits with cancels and reloads", function()
    assert(t.use_routes(here .. "/fixtures/v1"))
    local base = t.stats()
    math.randomseed(42)
    local pending, expect = {}, {}
    local version = 1
    for i = 1, 600 do
      if i % 60 == 0 then
        version = 3 - version
        assert(t.use_routes(here .. "/fixtures/v" .. version))
      end
      local ms = math.random(0, 30)
      pending[i] = t.start("GET", "/nap/" .. ms)
      expect[i] = { v = version, ms = ms }
      if math.random() < 0.2 then
        local j = math.random(1, i)
        if pending[j] and not pending[j]:done() then
          pending[j]:cancel()
          pending[j] = false
        end
      end
    end
    local served = 0
    for i = 1, 600 do
      if pending[i] then
        local res = pending[i]:wait()
        assert.equal(200, res.status)
        assert.equal(expect[i].v, res.body.v)
        assert.equal(expect[i].ms, res.body.ms)
        served = served + 1
      end
    end
    assert.is_true(served > 400)
    local after = t.stats()
    assert.equal(0, after.inflight)
    assert.equal(base.retired, after.retired)
    assert.equal(base.handler_errors, after.handler_errors)
  end)
end)
