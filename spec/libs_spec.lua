-- tycho.time, tycho.uuid, tycho.env, tycho.log, the `tycho` aggregate, and
-- system Lua modules.
local t = require "tycho.test"
local here = debug.getinfo(1, "S").source:match("^@(.*)/[^/]+$") or "spec"
local basic = dofile(here .. "/fixtures/serve.lua")("basic")

describe("tycho.time", function()
  local time = require "tycho.time"
  it("tells wall clock and monotonic time", function()
    assert.is_true(math.abs(time.now() - os.time()) < 2)
    local a = time.monotonic()
    time.sleep(0.02)
    assert.is_true(time.monotonic() - a >= 0.019)
  end)
  it("sleep(0) yields once and returns", function()
    time.sleep(0)
  end)
  it("rejects bad durations", function()
    assert.has_error(function() time.sleep(-1) end)
    assert.has_error(function() time.sleep("x") end)
  end)
end)

describe("tycho.uuid", function()
  local uuid = require "tycho.uuid"
  it("makes version 4 UUIDs, all different", function()
    local seen = {}
    for _ = 1, 2000 do
      local u = uuid()
      assert.matches("^%x%x%x%x%x%x%x%x%-%x%x%x%x%-4%x%x%x%-[89ab]%x%x%x%-%x%x%x%x%x%x%x%x%x%x%x%x$", u)
      assert.is_nil(seen[u])
      seen[u] = true
    end
    assert.equal(36, #uuid.v4())
  end)
end)

describe("tycho.net", function()
  local net = require "tycho.net"

  it("tells whether an address is in a list of ranges", function()
    local ranges = "10.0.0.0/8, 172.16.0.0/12,192.168.1.1 fc00::/7"
    assert.is_true(net.in_cidrs("10.255.0.1", ranges))
    assert.is_true(net.in_cidrs("172.31.255.255", ranges))
    assert.is_false(net.in_cidrs("172.32.0.0", ranges))
    assert.is_true(net.in_cidrs("192.168.1.1", ranges))
    assert.is_false(net.in_cidrs("192.168.1.2", ranges))
    assert.is_true(net.in_cidrs("fdff::1", ranges))
    assert.is_false(net.in_cidrs("fe00::1", ranges))
    assert.is_true(net.in_cidrs("::ffff:10.1.2.3", ranges)) -- IPv4-mapped
    assert.is_true(net.in_cidrs("8.8.8.8", "0.0.0.0/0"))
    assert.is_false(net.in_cidrs("::1", "0.0.0.0/0"))
    assert.is_false(net.in_cidrs("10.0.0.1", ""))
  end)

  it("answers false for a text that is not an address", function()
    for _, ip in ipairs { "", "localhost", "10.0.0", "10.0.0.1/8", " 10.0.0.1" } do
      assert.is_false(net.in_cidrs(ip, "0.0.0.0/0,::/0"), ip)
    end
  end)

  it("refuses a bad range list, naming the bad range", function()
    assert.error_matches(function() net.in_cidrs("10.0.0.1", "10.0.0.0/33") end,
      "tycho.net.in_cidrs: bad ranges: bad prefix length in 10.0.0.0/33")
    assert.error_matches(function() net.in_cidrs("10.0.0.1", "10.0.0.0/8,nope") end,
      "not an IP address: nope")
    assert.error_matches(function() net.in_cidrs(nil, "10.0.0.0/8") end, "bad argument #1")
  end)
end)

describe("tycho.env", function()
  local env = require "tycho.env"
  -- the process environment changed under tycho.env, which reads it afresh
  local ffi = require "ffi"
  pcall(ffi.cdef, [[
    int setenv(const char *name, const char *value, int overwrite);
    int unsetenv(const char *name);
  ]])
  it("reads variables with defaults and types", function()
    assert.equal(os.getenv "HOME", env.HOME)
    assert.equal("dflt", env.get("TYCHO_SPEC_SURELY_UNSET", "dflt"))
    assert.equal(5, env.number("TYCHO_SPEC_SURELY_UNSET", 5))
    assert.is_false(env.bool("TYCHO_SPEC_SURELY_UNSET", false))
    assert.error_matches(function() env.require "TYCHO_SPEC_SURELY_UNSET" end,
      "TYCHO_SPEC_SURELY_UNSET is required")
  end)

  it("reads numbers in decimal only, as tycho's settings (tonumber took 0x10, 1e3, nan)", function()
    local name = "TYCHO_SPEC_ENV_NUMBER"
    local function read(v)
      ffi.C.setenv(name, v, 1)
      return pcall(env.number, name, 7)
    end
    for v, want in pairs { ["16"] = 16, ["0.5"] = 0.5, [".5"] = 0.5, ["-3"] = -3, [" 16 "] = 16, ["2."] = 2 } do
      local ok, n = read(v)
      assert.is_true(ok, v)
      assert.equal(want, n, v)
    end
    for _, v in ipairs { "0x10", "1e3", "nan", "inf", "-inf", "+1", "1,5", "16x", "." } do
      local ok, err = read(v)
      assert.is_false(ok, v)
      assert.matches(("%s: not a decimal number (10, 0.5): %q"):format(name, v), err, 1, true)
    end
    ffi.C.unsetenv(name)
  end)

  it("ignores blanks around a boolean, and takes a blank value for unset everywhere", function()
    local name = "TYCHO_SPEC_ENV_BOOL"
    finally(function() ffi.C.unsetenv(name) end)
    local function bool(v)
      ffi.C.setenv(name, v, 1)
      return pcall(env.bool, name, "dflt")
    end
    for v, want in pairs { [" true "] = true, ["\tON\n"] = true, [" 1"] = true, ["no "] = false,
                           [" Off\r\n"] = false, ["0"] = false } do
      assert.same({ true, want }, { bool(v) }, v)
    end
    for _, v in ipairs { "t rue", "yes please", "2" } do
      local ok, err = bool(v)
      assert.is_false(ok, v)
      assert.matches(("%s: expected on/off, true/false, yes/no or 1/0, got %q"):format(name, v), err, 1, true)
    end
    for _, blank in ipairs { "", " ", " \t\r\n " } do
      ffi.C.setenv(name, blank, 1)
      assert.same({ true, "dflt" }, { bool(blank) })
      assert.equal(7, env.number(name, 7))
      assert.equal("dflt", env.get(name, "dflt"))
      assert.is_nil(env[name])
      assert.error_matches(function() env.require(name) end, name .. " is required but not set")
    end
    ffi.C.setenv(name, " a b ", 1)
    assert.equal(" a b ", env.get(name)) -- a string is given as it is set
  end)
end)

describe("tycho.protect", function()
  local protect = require "tycho.protect"

  it("is pcall and xpcall for results and ordinary errors", function()
    assert.same({ true, 1, nil, 3 }, { protect.pcall(function(a, b, c) return a, b, c end, 1, nil, 3) })
    local e = {}
    assert.same({ false, e }, { protect.pcall(error, e) })
    local ok, err = protect.xpcall(function() error("boom") end, function(m) return "handled: " .. m end)
    assert.is_false(ok)
    assert.matches("^handled: .*libs_spec%.lua:%d+: boom$", err)
  end)

  it("returns an ordinary error that reads 'not enough memory' (only LuaJIT's own is a memory error)", function()
    local cleaned
    assert.same({ false, "not enough memory" }, { protect.pcall(error, "not enough memory", 0) })
    assert.same({ false, "seen" }, { protect.xpcall(error, function(_, nomem)
      cleaned = nomem
      return "seen"
    end, "not enough memory", 0) })
    assert.is_nil(cleaned) -- called as xpcall's handler, not for a memory error
  end)

  it("may be yielded across", function()
    local time = require "tycho.time"
    assert.same({ true, "after" }, { protect.pcall(function() time.sleep(0.001) return "after" end) })
    assert.same({ false, "late" }, { protect.pcall(function() time.sleep(0.001) error("late", 0) end) })
  end)
end)

describe("tycho.log", function()
  local log = require "tycho.log"
  setup(basic.setup)
  teardown(basic.teardown)

  it("writes JSON lines with typed fields", function()
    t.capture_logs()
    log.warn("hello", { n = 3, f = 1.5, ok = true, s = "x", tbl = { 1, 2 } })
    local line = t.logs()[1]
    t.capture_logs(false)
    assert.equal("warn", line.level)
    assert.equal("hello", line.msg)
    assert.equal(3, line.n)
    assert.equal(1.5, line.f)
    assert.equal(true, line.ok)
    assert.same({ 1, 2 }, line.tbl)
    assert.is_nil(line.request_id)
  end)

  it("attaches the request id and route inside a request", function()
    t.capture_logs()
    t.get("/nested", { request_id = "rid-log" })
    local line = t.logs()[1]
    t.capture_logs(false)
    assert.equal("nested called", line.msg)
    assert.equal("rid-log", line.request_id)
    assert.equal("/nested", line.route)
    assert.same({ a = 1 }, line.obj)
  end)

  it("renames fields named like its own members: a request cannot forge them", function()
    local forged = { time = "1999-01-01T00:00:00Z", level = "error", msg = "forged",
                     service = "evil", request_id = "x", trace_id = "y", span_id = "z",
                     route = "/forged" }
    t.capture_logs()
    assert.equal(200, t.post("/log-fields", { body = forged, request_id = "rid-forge" }).status)
    local line = t.logs()[1]
    t.capture_logs(false)
    -- a reader keeping the last of duplicate keys (as json.decode) sees tycho's
    assert.equal("info", line.level)
    assert.equal("from the body", line.msg)
    local service = os.getenv "OTEL_SERVICE_NAME" -- the configured one, not the field's
    assert.equal(service ~= nil and service ~= "" and service or "unknown_service:tycho", line.service)
    assert.equal("rid-forge", line.request_id)
    assert.matches("^%x+$", line.trace_id)
    assert.matches("^%x+$", line.span_id)
    assert.equal("/log-fields", line.route)
    assert.not_equal(forged.time, line.time)
    for k, v in pairs(forged) do assert.equal(v, line["field." .. k], k) end
  end)

  it("writes NaN and infinities as strings, other numbers exactly", function()
    t.capture_logs()
    log.info("numbers", { nan = 0 / 0, inf = math.huge, ninf = -math.huge,
                          max_safe = 9007199254740991, sum = 0.1 + 0.2, big = 2 ^ 63 })
    local line = t.logs()[1]
    t.capture_logs(false)
    assert.is_table(line, tostring(line)) -- valid JSON
    assert.equal("NaN", line.nan)
    assert.equal("Infinity", line.inf)
    assert.equal("-Infinity", line.ninf)
    assert.equal(9007199254740991, line.max_safe)
    assert.equal(0.1 + 0.2, line.sum)
    assert.equal(2 ^ 63, line.big)
  end)

  it("cuts a line over 64 KiB to fit, keeping its members", function()
    t.capture_logs()
    log.info("huge", { s = string.rep("x", 100000), after = 1 })
    t.get("/huge-error", { request_id = "rid-huge" })
    local lines = t.logs()
    t.capture_logs(false)
    assert.equal("huge", lines[1].msg)
    assert.matches("^x+\u{2026}%(truncated, 100000 bytes%)$", lines[1].s)
    assert.equal(1, lines[1].after)
    local err
    for _, l in ipairs(lines) do if l.msg == "handler error" then err = l end end
    assert.is_table(err, "no handler error line")
    assert.equal("rid-huge", err.request_id)
    assert.equal("/huge-error", err.route)
    assert.matches("EEEE\u{2026}%(truncated, %d+ bytes%)$", err.error)
  end)

  it("counts the fields it drops, and keeps NUL bytes", function()
    local many = {}
    for i = 1, 40 do many["k" .. i] = i end
    many[1], many[true] = "positional", "boolean key"
    many.fields_dropped = "mine"
    t.capture_logs()
    log.info("many", many)
    log.info("a\0b", { ["k\0"] = "v\0w" })
    local lines = t.logs()
    t.capture_logs(false)
    -- 9 past 32 (in pairs() order), and 2 keys that are no strings
    assert.equal(11, lines[1].fields_dropped)
    local kept = 0
    for k in pairs(lines[1]) do
      if k:match "^k%d+$" or k == "field.fields_dropped" then kept = kept + 1 end
    end
    assert.equal(32, kept)
    -- written as \u0000, decoded back into NUL bytes
    assert.equal("a\0b", lines[2].msg)
    assert.equal("v\0w", lines[2]["k\0"])
  end)

  it("says why a table field could not be written, and counts fields that are no table", function()
    t.capture_logs()
    log.info("mixed", { list = { 1, 2, x = 3 }, ok = 1 })
    log.info("not a table", "oops")
    local lines = t.logs()
    t.capture_logs(false)
    assert.matches("^%(unencodable table: .+%)$", lines[1].list)
    assert.are_not.equal("(unencodable table: )", lines[1].list)
    assert.equal(1, lines[1].ok)
    assert.is_nil(lines[1].fields_dropped)
    assert.equal("not a table", lines[2].msg)
    assert.equal(1, lines[2].fields_dropped)
  end)

  it("writes an error value given as the message, rather than raising", function()
    local tycho = require "tycho"
    local ok, err = pcall(tycho.error, 404, "no such order")
    assert.is_false(ok)
    local bad_tostring = setmetatable({}, { __tostring = function() error "nope" end })
    t.capture_logs()
    log.error(err, { order = 7 })
    log.error({ message = "queue unreachable", code = "E1" })
    log.warn({ error = "timed out" })
    log.warn(bad_tostring)
    log.info(nil)
    log.info(false, { k = 1 })
    log.info(42)
    local lines = t.logs()
    t.capture_logs(false)
    assert.equal(7, #lines)
    assert.equal(tostring(err), lines[1].msg)
    assert.matches("no such order", lines[1].msg)
    assert.equal(7, lines[1].order)
    assert.equal("error", lines[1].level)
    assert.equal("queue unreachable", lines[2].msg)
    assert.equal("timed out", lines[3].msg)
    assert.equal("(error object is a table value)", lines[4].msg)
    assert.equal("nil", lines[5].msg)
    assert.equal("false", lines[6].msg)
    assert.equal(1, lines[6].k)
    assert.equal("42", lines[7].msg)
  end)

  it("writes a json.null field as null", function()
    local json = require "tycho.json"
    t.capture_logs()
    log.info("nulls", { gone = json.null, list = { 1, json.null } })
    local line = t.logs()[1]
    t.capture_logs(false)
    assert.equal(json.null, line.gone)
    assert.same({ 1, json.null }, line.list)
  end)
end)

describe("the tycho table", function()
  it("aggregates the modules", function()
    local tycho = require "tycho"
    assert.equal(require "tycho.json", tycho.json)
    assert.equal(require "tycho.time", tycho.time)
    assert.is_nil(tycho.no_such_module)
  end)

  it("raises the error of a module that is there but fails to load", function()
    local tycho = require "tycho"
    package.preload["tycho.spec_broken"] = function() error("spec_broken: broken on purpose") end
    package.preload["tycho.spec_needs_missing"] = function() return require "tycho.spec_no_such_dep" end
    finally(function()
      package.preload["tycho.spec_broken"], package.preload["tycho.spec_needs_missing"] = nil, nil
      package.loaded["tycho.spec_broken"], package.loaded["tycho.spec_needs_missing"] = nil, nil
    end)
    assert.error_matches(function() return tycho.spec_broken end, "spec_broken: broken on purpose")
    assert.error_matches(function() return tycho.spec_needs_missing end, "module 'tycho.spec_no_such_dep' not found")
    assert.is_nil(rawget(tycho, "spec_broken"))
    assert.is_nil(tycho.spec_no_such_dep)
  end)

  it("raises a module's own load error again on every later access", function()
    local tycho = require "tycho"
    local runs = 0
    package.preload["tycho.spec_broken_twice"] = function()
      runs = runs + 1
      error("spec_broken_twice: broken on purpose")
    end
    finally(function() package.preload["tycho.spec_broken_twice"] = nil end)
    for _ = 1, 2 do
      assert.error_matches(function() return tycho.spec_broken_twice end, "spec_broken_twice: broken on purpose")
      assert.error_matches(function() return require "tycho.spec_broken_twice" end,
        "spec_broken_twice: broken on purpose")
    end
    assert.equal(4, runs)
    assert.is_nil(package.loaded["tycho.spec_broken_twice"])
  end)

  it("still names a module that requires itself while it loads a loop", function()
    package.preload["tycho.spec_loop"] = function() return require "tycho.spec_loop" end
    finally(function() package.preload["tycho.spec_loop"] = nil end)
    for _ = 1, 2 do
      assert.error_matches(function() return require "tycho.spec_loop" end,
        "loop or previous error loading module 'tycho.spec_loop'", nil, true)
    end
    assert.is_nil(package.loaded["tycho.spec_loop"])
  end)
end)

describe("system Lua modules", function()
  it("loads Debian lua-cjson and lua-lpeg C modules with require", function()
    local cjson = require "cjson"
    assert.equal('{"a":1}', cjson.encode { a = 1 })
    local lpeg = require "lpeg"
    assert.equal(4, lpeg.match(lpeg.P "abc", "abcd"))
  end)
  it("runs on LuaJIT with the jit and ffi modules", function()
    assert.is_table(jit)
    assert.equal(-5, require("ffi").new("int", -5))
  end)
end)
