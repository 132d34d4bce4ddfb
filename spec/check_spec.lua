-- `tycho check` as CI runs it: exit status and file:line.
local here = debug.getinfo(1, "S").source:match("^@(.*)/[^/]+$") or "spec"

local check = dofile(here .. "/fixtures/check.lua").dir

describe("tycho check", function()
  it("passes a good routes folder", function()
    local ok, out = check(here .. "/fixtures/basic")
    assert.is_true(ok, out)
    assert.matches("ok", out)
  end)

  it("fails with file:line on a syntax error", function()
    local ok, out = check(here .. "/fixtures/syntax")
    assert.is_false(ok)
    assert.matches("syntax/broken.lua:3:", out)
  end)

  it("fails on a route conflict, naming both places", function()
    local ok, out = check(here .. "/fixtures/conflict")
    assert.is_false(ok)
    assert.matches("conflict/b.lua:3: route GET /same/:name is already declared at .*conflict/a.lua:2", out)
  end)

  it("fails on a missing folder", function()
    local ok, out = check(here .. "/fixtures/does-not-exist")
    assert.is_false(ok)
    assert.matches("routes directory not found", out)
  end)
end)
