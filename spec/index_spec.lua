-- routes/index.lua: GET /
local t = require "tycho.test"
local HERE = debug.getinfo(1, "S").source:match("^@(.*)/[^/]*$") or "spec"
local app = dofile(HERE .. "/fixtures/app/helper.lua")

local ISO = "^%d%d%d%d%-%d%d%-%d%dT%d%d:%d%d:%d%d%.%d%d%dZ$"

describe("GET /", function()
  setup(app.setup)
  teardown(app.teardown)
  before_each(app.reset)

  it("answers a message and the visit time, counts the visit, logs the client IP", function()
    local before = app.count("user_actions_total", { action = "visit" })
    local res = t.get("/", { peer_ip = "192.0.2.7", headers = { ["User-Agent"] = "spec" } })
    assert.equal(200, res.status)
    assert.equal("Hello from tycho!", res.body.message)
    assert.matches(ISO, res.body.visit_time)
    assert.equal(before + 1, app.count("user_actions_total", { action = "visit" }))
    local visit = app.logs("visit")[1]
    assert.is_table(visit)
    assert.equal("192.0.2.7", visit.client_ip)
    assert.equal("spec", visit.user_agent)
    assert.equal("/", visit.route)
  end)

  it("logs the client behind a trusted proxy, not the proxy", function()
    t.set_limits { trusted_proxies = "10.0.0.0/8" }
    local res = t.get("/", { peer_ip = "10.0.0.5", headers = { ["X-Forwarded-For"] = "198.51.100.9" } })
    t.set_limits { trusted_proxies = "" }
    assert.equal(200, res.status)
    assert.equal("198.51.100.9", app.logs("visit")[1].client_ip)
  end)

  it("simulates work with a non-blocking sleep when SIMULATED_WORK_MS is set", function()
    app.configure { SIMULATED_WORK_MS = "200-300" }
    local time = require "tycho.time"
    local t0 = time.monotonic()
    local slow = t.start("GET", "/")
    local quick = t.get("/health") -- served while the visit sleeps
    local quick_at = time.monotonic() - t0
    local res = slow:wait()
    local dt = time.monotonic() - t0
    assert.equal(200, quick.status)
    assert.equal(200, res.status)
    assert.is_true(quick_at < 0.15, "the health check waited " .. quick_at)
    assert.is_true(dt >= 0.19 and dt < 2, "the visit took " .. dt)
  end)

  it("refuses a malformed SIMULATED_WORK_MS at load, naming it", function()
    local ok, err = pcall(app.configure, { SIMULATED_WORK_MS = "slow" })
    assert.is_false(ok)
    assert.matches("SIMULATED_WORK_MS", tostring(err))
  end)

  -- past the handler timeout (30 s) every visit would answer 504
  it("refuses a SIMULATED_WORK_MS past 10000 ms at load, naming it", function()
    for _, v in ipairs { "60000", "100-10001", "99999999999999999999" } do
      local ok, err = pcall(app.configure, { SIMULATED_WORK_MS = v })
      assert.is_false(ok, v)
      assert.matches("SIMULATED_WORK_MS: %S+ is out of range %(0 to 10000 ms", tostring(err))
    end
    app.configure { SIMULATED_WORK_MS = "0-10000" }
    app.configure { SIMULATED_WORK_MS = "10000" }
  end)

  it("caps SIMULATED_WORK_MS at a third of the handler timeout it is served with", function()
    local limits = { t.set_limits {} }
    t.set_limits { handler_timeout = 6 }
    local ok, err = pcall(app.configure, { SIMULATED_WORK_MS = "2001" })
    local ok_at_cap = pcall(app.configure, { SIMULATED_WORK_MS = "100-2000" })
    t.set_limits { handler_timeout = 90 }
    local ok_longer = pcall(app.configure, { SIMULATED_WORK_MS = "30000" })
    t.set_limits { handler_timeout = limits[1] }
    app.reset()
    assert.is_false(ok)
    assert.matches("SIMULATED_WORK_MS: 2001 is out of range (0 to 2000 ms; a third of TYCHO_HANDLER_TIMEOUT",
      tostring(err), 1, true)
    assert.is_true(ok_at_cap)
    assert.is_true(ok_longer)
  end)
end)
