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

  it("passes env values and arguments as they are: nothing in them expands", function()
    local tricky = "a$HOME `echo 5` $(echo 6) 'q' \"d\" \\"
    -- a routes folder whose name the shell would expand, holding serve_env's route
    local dir = os.tmpname()
    os.remove(dir)
    dir = dir .. "-$(echo x)`echo y`'z'"
    local function sh(s) return "'" .. s:gsub("'", "'\\''") .. "'" end
    assert(os.execute(("mkdir %s && cp %s/fixtures/serve_env/env.lua %s"):format(sh(dir), here, sh(dir))))
    finally(function() os.execute(("rm -r %s"):format(sh(dir))) end)
    local srv = t.serve { routes = dir, env = { TYCHO_SPEC_TRICKY = tricky } }
    local code, body = curl(srv.url "/env/TYCHO_SPEC_TRICKY")
    srv:stop()
    assert.equal(200, code)
    assert.equal(tricky, json.decode(body).value)
  end)

  it("refuses an option it does not know instead of serving without it", function()
    -- a misspelt `routes` would serve ./routes, the wrong app, without a word
    local ok, err = pcall(function()
      local srv = t.serve { rotues = here .. "/fixtures/v1" }
      srv:stop() -- (only without the check: it served ./routes)
    end)
    assert.is_false(ok)
    assert.matches("tycho.test.serve: unknown option 'rotues' %(routes, workers, env, args, "
      .. "timeout, exe%)", err)
    assert.matches("serve_spec.lua:%d+:", err) -- the caller's line
  end)

  it("refuses at once a log level that would hide the line it waits for", function()
    -- warn or error leave out the info line "listening" that gives serve the
    -- ports: the spec waited its whole timeout for "no 'listening' line"
    local time = require "tycho.time"
    local started = time.monotonic()
    for _, case in ipairs {
      { want = "TYCHO_LOG_LEVEL=warn", opts = { env = { TYCHO_LOG_LEVEL = " WARN " } } },
      { want = "%-%-log%-level error", opts = { args = { "--log-level", "error" } } },
      { want = "%-%-log%-level warn", opts = { env = { TYCHO_LOG_LEVEL = "debug" }, args = { "--log-level=warn" } } },
    } do
      case.opts.routes = here .. "/fixtures/v1"
      local ok, err = pcall(function() t.serve(case.opts):stop() end)
      assert.is_false(ok)
      assert.matches("serve_spec.lua:%d+: tycho.test.serve: " .. case.want .. " leaves out the server's "
        .. "'listening' line %(level info%), which tells serve its ports; serve it at info or debug", err)
    end
    assert.is_true(time.monotonic() - started < 2)
    -- a flag at info wins over a quiet variable, as it does for the server
    local srv = t.serve { routes = here .. "/fixtures/v1", env = { TYCHO_LOG_LEVEL = "error" },
      args = { "--log-level", "info" } }
    local code = curl(srv.url "/version")
    srv:stop()
    assert.equal(200, code)
  end)

  it("reports a server that exits before listening at once, with its output", function()
    local time = require "tycho.time"
    local started = time.monotonic()
    local ok, err = pcall(t.serve, { routes = here .. "/fixtures/no-such-folder" })
    assert.is_false(ok)
    assert.matches("the server exited before listening; output:\n.*no%-such%-folder", err)
    assert.is_true(time.monotonic() - started < 5)
  end)
end)
