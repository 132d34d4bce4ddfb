-- tycho.test.serve: a real `tycho serve` for end-to-end specs.
local t = require "tycho.test"
local json = require "tycho.json"
local here = debug.getinfo(1, "S").source:match("^@(.*)/[^/]+$") or "spec"

local function curl(url)
  local p = assert(io.popen(("curl -s -w '\\n%%{http_code}' %q"):format(url)))
  local out = p:read "*a"
  p:close()
  local body, code = out:match "^(.*)\n(%d+)$"
  return tonumber(code), body
end

describe("tycho.test.serve", function()
  it("starts a server on free ports, serves the routes, stops on SIGTERM", function()
    local srv = t.serve { routes = here .. "/fixtures/v1", workers = 1 }
    assert.is_number(srv.port)
    local code, body = curl(srv.url "/version")
    assert.equal(200, code)
    assert.same({ version = 1 }, json.decode(body))
    code = curl(srv.url "/nope")
    assert.equal(404, code)
    srv:stop()
    local after = curl(srv.url "/version")
    assert.is_true(after == nil or after == 0 or after == 000)
  end)
end)
