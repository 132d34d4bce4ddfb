-- os.execute and io.popen under tycho serve: refused in handlers (they
-- block the worker, and no timeout stops them), kept at a route file's top
-- level and in specs.
local t = require "tycho.test"
local json = require "tycho.json"
local http = require "tycho.http"
local time = require "tycho.time"
local here = debug.getinfo(1, "S").source:match("^@(.*)/[^/]+$") or "spec"
local folder = dofile(here .. "/fixtures/folder.lua")
local server_log = dofile(here .. "/fixtures/server_log.lua")

describe("blocking calls under tycho serve", function()
  it("refuses os.execute and io.popen in a handler, with a clear error, not at the top level", function()
    local dir = folder.new { ["b.lua"] = [[
local f = assert(io.popen("echo loaded"))
local top = f:read("*l")
f:close()
return {
  ["GET /top"] = function() return { top = top } end,
  ["GET /exec"] = function()
    local ok, err = pcall(os.execute, "sleep 3")
    return { ok = ok, err = err }
  end,
  ["GET /popen"] = function() return io.popen("sleep 3"):read("*a") end,
}
]] }
    local srv = t.serve { routes = dir }
    finally(function()
      srv:stop()
      folder.remove(dir)
    end)
    local status, _, body = http.get(srv.url "/top")
    assert.equal(200, status)
    assert.same({ top = "loaded" }, json.decode(body))
    local start = time.monotonic()
    status, _, body = http.get(srv.url "/exec")
    assert.equal(200, status)
    local res = json.decode(body)
    assert.is_false(res.ok)
    assert.matches("^os%.execute cannot run in a handler, timer or consumer: it blocks the worker", res.err)
    status = http.get(srv.url "/popen")
    assert.equal(500, status)
    assert.is_true(time.monotonic() - start < 2, "a refused call must not run the command")
    local function popen_error(rec) return rec.route == "/popen" and rec.error end
    local logged = server_log.select(server_log.wait(srv, function(recs)
      return server_log.select(recs, popen_error)[1]
    end), popen_error)[1]
    assert.is_table(logged)
    assert.matches("b%.lua:10: io%.popen cannot run in a handler", logged.error)
  end)

  it("leaves them to a spec's own code", function()
    local ok = os.execute("true")
    assert.is_true(ok == 0 or ok == true)
    local f = assert(io.popen("echo spec"))
    assert.equal("spec", f:read("*l"))
    f:close()
  end)
end)
