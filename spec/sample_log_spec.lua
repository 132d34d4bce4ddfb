-- routes/sample_log.lua: SAMPLE_LOG_INTERVAL=N logs a random sample line
-- every N seconds (a timer: worker 0 of a real `tycho serve`); unset, none.
local t = require "tycho.test"
local time = require "tycho.time"

local SPEC = debug.getinfo(1, "S").source:match("^@(.*)/[^/]+$")
local ROUTES = SPEC .. "/../routes"

local function serve(interval)
  local dir = os.tmpname()
  os.remove(dir)
  local srv = t.serve { routes = ROUTES, workers = 2,
                        env = { SAMPLE_LOG_INTERVAL = interval, SQS_CONSUMER = "off",
                                TYCHO_DATA_DIR = dir } }
  srv.data = dir
  return srv
end

local server_log = dofile(SPEC .. "/fixtures/server_log.lua")

local function samples(srv)
  return server_log.select((server_log.read(srv)), function(rec) return rec.sample == true end)
end

local function stop(srv)
  srv:stop()
  os.execute(("rm -rf %q"):format(srv.data))
end

describe("SAMPLE_LOG_INTERVAL", function()
  it("logs a random sample line every interval", function()
    local srv = serve "0.1"
    local deadline = time.monotonic() + 5
    while #samples(srv) < 5 and time.monotonic() < deadline do time.sleep(0.05) end
    local got = samples(srv)
    stop(srv)
    assert.is_true(#got >= 5, "sample lines: " .. #got)
    for _, rec in ipairs(got) do
      assert.is_truthy(({ info = true, warn = true, error = true })[rec.level], rec.level)
      assert.is_string(rec.msg)
      assert.is_true(#rec.msg > 0)
    end
  end)

  it("logs none when unset", function()
    local srv = serve ""
    time.sleep(0.6)
    local got = samples(srv)
    stop(srv)
    assert.equal(0, #got)
  end)

  -- 0.001 would write a thousand lines a second; NaN passed every comparison
  it("is checked when the routes load: 0 (off) or 0.1 to 86400 seconds", function()
    local function check(v)
      local out = os.tmpname()
      local rc = os.execute(("SAMPLE_LOG_INTERVAL=%s %q check %q > %q 2>&1"):format(v, t.exe(), ROUTES, out))
      local f = io.open(out)
      local text = f:read "*a"
      f:close()
      os.remove(out)
      return rc == 0 or rc == true, text
    end
    for _, v in ipairs { "-1", "0.001", "0.09", "86401" } do
      local ok, text = check(v)
      assert.is_false(ok, v)
      assert.matches("SAMPLE_LOG_INTERVAL: %S+ is out of range %(0.1 to 86400 seconds; 0 is off%)", text)
    end
    local ok, text = check "nan" -- not a number at all: tycho.env refuses it first
    assert.is_false(ok)
    assert.matches('SAMPLE_LOG_INTERVAL: not a decimal number %(10, 0.5%): "nan"', text)
    for _, v in ipairs { "0", "0.1", "86400" } do
      local ok, text = check(v)
      assert.is_true(ok, v .. ": " .. text)
    end
  end)
end)
