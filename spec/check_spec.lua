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

  it("fails on a route file that returns no table, naming it and saying what it must return", function()
    local folder = dofile(here .. "/fixtures/folder.lua")
    for src, returned in pairs { ["local x = 1\n"] = "nothing", ["return nil"] = "nil",
                                 ["return 42"] = "a number", ["return function() end"] = "a function" } do
      local dir = folder.new { ["a.lua"] = 'return { ["GET /a"] = function() return "a" end }', ["b.lua"] = src }
      local ok, out = check(dir)
      folder.remove(dir)
      assert.is_false(ok, src)
      assert.equal(dir .. "/b.lua: returned " .. returned .. "; a route file must return a table of its "
        .. 'routes, such as return { ["GET /hello"] = function(req) return "hi" end } (a module for '
        .. "require that is no route file needs a name starting with '_')\n", out)
    end
  end)

  it("fails on a missing folder, saying how the folder is named", function()
    local ok, out = check(here .. "/fixtures/does-not-exist")
    assert.is_false(ok)
    local want = "tycho check: " .. here .. "/fixtures/does-not-exist: routes directory not found "
      .. "(name the routes folder: tycho check DIR, --routes DIR or TYCHO_ROUTES; ./routes when none "
      .. "is given)\n"
    assert.equal(want, out)
  end)

  it("names a symbolic link loop, not a folder nested too deep", function()
    local folder = dofile(here .. "/fixtures/folder.lua")
    local dir = folder.new { ["a.lua"] = 'return { ["GET /a"] = function() return "a" end }' }
    local made = os.execute(("mkdir %q && ln -s .. %q"):format(dir .. "/api", dir .. "/api/up"))
    local ok, out = check(dir)
    folder.remove(dir)
    assert.is_true(made == 0 or made == true)
    assert.is_false(ok)
    local want = dir .. "/api/up: a symbolic link loop: this folder is " .. dir .. "\n"
    assert.is_truthy(out:find(want, 1, true), out)
  end)

  it("names a route file linked to a missing file, rather than dropping its routes", function()
    local folder = dofile(here .. "/fixtures/folder.lua")
    local dir = folder.new { ["a.lua"] = 'return { ["GET /a"] = function() return "a" end }' }
    local made = os.execute(("ln -s %q %q"):format(dir .. "/gone/b.lua", dir .. "/b.lua"))
    -- links that are no route files stay ignored, as the files would be
    os.execute(("ln -s %q %q && ln -s %q %q"):format(dir .. "/gone", dir .. "/.#b.lua",
      dir .. "/gone", dir .. "/NOTES"))
    local ok, out = check(dir)
    folder.remove(dir)
    assert.is_true(made == 0 or made == true)
    assert.is_false(ok)
    local want = dir .. "/b.lua: a symbolic link to a missing file (" .. dir .. "/gone/b.lua)\n"
    assert.equal(want, out)
  end)

  it("fails on a file, saying it takes the routes folder", function()
    local ok, out = check(here .. "/fixtures/basic/api.lua")
    assert.is_false(ok)
    assert.matches("^tycho check: [^\n]*/basic/api%.lua is a file, not a directory: tycho check "
      .. "takes the routes folder %(tycho check [^\n]*/fixtures/basic%)\n$", out)
  end)
end)

describe("tycho check: load errors say where", function()
  local files = dofile(here .. "/fixtures/check.lua").files
  local function fails(src, pattern)
    local ok, out = files { ["a.lua"] = src }
    assert.is_false(ok, out)
    assert.matches(pattern, out)
    return out
  end

  it("reads a table error's message, with the line that raised it", function()
    fails('local x = 1\nerror({ message = "table msg" })\n',
          "a%.lua:2: table msg %(while loading [^)]*a%.lua%)")
    fails('\n\nerror({ code = 1 })\n', "a%.lua:3: %(error object is a table value%)")
  end)

  it("gives the line of a malformed route entry's handler", function()
    fails('return {\n  { "GET", 5, function() end },\n}\n', "a%.lua:2: route #1: expected")
    fails('return {\n\n  { method = "GET", path = "/x", hander = function() end },\n}\n',
          "a%.lua:3: route #1: unexpected key 'hander'")
    fails('return {\n\n  { method = "GET", path = "/x" },\n}\n', "a%.lua: route #1: expected")
    fails('return {\n  foo = function() end,\n}\n', "a%.lua:2: key 'foo': expected")
  end)

  it("says what a table key takes, and what came where a handler goes", function()
    local out = fails('return {\n  timer = { { every = 1, handler = function() end } },\n}\n', "")
    assert.matches("a%.lua: key 'timer': expected %[\"METHOD /path\"%] = handler, consumers = {...} "
      .. "or timers = {...}\n$", out)
    out = fails('return {\n  ["GET /a"] = "hi",\n}\n', "")
    assert.matches("a%.lua: key 'GET /a': expected %[\"METHOD /path\"%] = handler, got a string "
      .. "where the handler function goes\n$", out)
  end)

  it("never gives a module's line as a line of the route file taking a handler from it", function()
    local module = "\n\n\n\n\n\nlocal M = {}\nfunction M.get() end\nreturn M\n" -- M.get: line 8
    local uses = 'local h = require "_h"\nreturn {\n  ["GET /x"] = h.get,\n'
      .. '  consumers = { { queue = "q", handler = h.get } },\n}\n'
    local ok, out = files { ["_h.lua"] = module, ["a.lua"] = uses }
    assert.is_true(ok, out)
    assert.matches("GET +/x +[^\n]*/a%.lua\n", out)
    ok, out = files { ["_h.lua"] = module, ["a.lua"] = uses,
      ["b.lua"] = 'return {\n  ["GET /x"] = require("_h").get,\n}\n' }
    assert.is_false(ok, out)
    assert.matches("/b%.lua: route GET /x is already declared at [^\n]*/a%.lua %(as /x%)", out)
    ok, out = files { ["_h.lua"] = module, ["a.lua"] = uses,
      ["b.lua"] = 'return { consumers = { { queue = "q", handler = require("_h").get } } }\n' }
    assert.is_false(ok, out)
    assert.matches("/b%.lua: consumer of queue q is already declared at [^\n]*/a%.lua\n", out)
  end)

  it("names the file and line that required a missing module, however deep", function()
    fails('local x = 1\nlocal m = require "no_such_module"\nreturn {}\n',
          "a%.lua:2: module 'no_such_module' not found: [^\n]*%(while loading [^)]*a%.lua%)")
    local ok, out = files { ["a.lua"] = 'local b = require "_lib.b"\nreturn {}\n',
      ["_lib/b.lua"] = '\n\nlocal c = require "_lib.absent"\nreturn {}\n' }
    assert.is_false(ok, out)
    assert.matches("/_lib/b%.lua:3: module '_lib.absent' not found: [^\n]*%(while loading [^)]*/a%.lua%)\n$", out)
  end)

  it("refuses extra elements in a route entry", function()
    fails('return {\n  { "GET", "/x", function() end, "extra" },\n}\n',
          "a%.lua:2: route #1: unexpected 4th element %(a string%)")
  end)

  it("refuses timers and consumers written without their inner braces, or with holes", function()
    fails('return { timers = { name = "t", every = 1, handler = function() end } }\n',
      "a%.lua: timers must be a list of .*: unexpected key '[a-z]+'")
    fails('return { consumers = { queue = "q", handler = function() end } }\n',
      "a%.lua: consumers must be a list of .*: unexpected key '[a-z]+'")
    fails('return { timers = { [2] = { every = 1, handler = function() end } } }\n',
      "a%.lua: timers must be a list of .*: unexpected key %[2%]")
    local ok, out = dofile(here .. "/fixtures/check.lua").files {
      ["a.lua"] = 'return { timers = {}, consumers = {} }\n' }
    assert.is_true(ok, out)
  end)

  it("lists the timers and SQS consumers the route files declare, with where, sorted by line", function()
    local files = {
      ["a.lua"] = [[
return {
  ["GET /a"] = function() return "a" end,
  timers = {
    { name = "flush", every = 30, handler = function() end },
    { name = "sweep", every = 0.5,
      handler = function() end },
  },
}
]],
      ["b.lua"] = [[
local function handle(msg) end
return {
  consumers = {
    { queue = "jobs", handler = handle },
    { queue = "https://sqs.eu-west-1.amazonaws.com/123456789012/mail",
      handler = function(msg) end },
  },
}
]],
    }
    local ok, out = dofile(here .. "/fixtures/check.lua").files(files)
    assert.is_true(ok, out)
    local lines = {}
    for line in out:gmatch "[^\n]+" do lines[#lines + 1] = line:gsub("%s+", " ") end
    local dir = lines[1]:match(" (%S+)/a%.lua:2$")
    assert.is_string(dir, out)
    assert.same({
      " GET /a " .. dir .. "/a.lua:2",
      " TIMER flush (every 30 s) " .. dir .. "/a.lua:4",
      " TIMER sweep (every 0.5 s) " .. dir .. "/a.lua:6",
      " SQS jobs " .. dir .. "/b.lua:1",
      " SQS https://sqs.eu-west-1.amazonaws.com/123456789012/mail " .. dir .. "/b.lua:6",
      "tycho check: " .. dir .. ": ok, 1 route, 2 timers, 2 SQS consumers",
    }, lines)
  end)

  it("refuses tycho's own metric names without the tycho_ prefix, as a worker would", function()
    for _, name in ipairs { "process_open_fds", "aws_requests_total", "aws_request_duration_seconds" } do
      fails(('local m = require "tycho.metrics"\nm.gauge("%s", "mine")\nreturn {}\n'):format(name),
        ('a%%.lua:2: metric "%s": the name is one of tycho\'s own metrics'):format(name))
    end
    fails('local m = require "tycho.metrics"\nm.counter("tycho_x_total", "mine")\nreturn {}\n',
      'names starting with "tycho_" are reserved')
  end)

  it("refuses a method the HTTP parser cannot take, naming those a route may declare", function()
    for _, m in ipairs { "BREW", "QUERY", "CONNECT" } do
      fails(('return {\n  { "%s", "/m", function() end },\n}\n'):format(m),
        "a%.lua:2: method " .. m .. " cannot be served: the HTTP parser answers 501 to it "
        .. "%(methods a route may declare: DELETE, GET, HEAD, POST, PUT, OPTIONS, TRACE, ")
    end
    fails('return {\n  ["BREW /m"] = function() end,\n}\n', "a%.lua:2: method BREW cannot")
    local ok, out = files { ["a.lua"] = 'return {\n  { "PURGE", "/m", function() end },\n'
      .. '  { "M-SEARCH", "/m", function() end },\n}\n' }
    assert.is_true(ok, out)
  end)

  it("refuses a NUL byte in a method or pattern rather than serve what comes before it", function()
    fails('return {\n  { "GET", "/a\\0b", function() end },\n}\n',
          "a%.lua:2: bad pattern '/a%.%.%.': it holds a NUL byte %(%%00 in a pattern matches one%)")
    fails('return {\n  { method = "GET\\0X", path = "/a", handler = function() end },\n}\n',
          "a%.lua:2: bad method 'GET%.%.%.': it holds a NUL byte")
    fails('return {\n  ["GET /a\\0b"] = function() end,\n}\n', "a%.lua:2: bad pattern '/a%.%.%.'")
  end)

  it("shows a pattern with a byte a path cannot hold as the author must write it", function()
    fails('return {\n  { "GET", "/caf\195\169/:id", function() end },\n}\n',
          "a%.lua:2: .*segment 1: character 0xc3 not allowed in a path %(write the pattern "
          .. "percent%-encoded: '/caf%%C3%%A9/:id'%)")
    fails('return {\n  ["GET /a b/%20c"] = function() end,\n}\n',
          "segment 1: character 0x20 not allowed in a path %(write the pattern percent%-encoded: "
          .. "'/a%%20b/%%20c'%)")
  end)

  it("says how long a method may be, in either spelling", function()
    local long = ("X"):rep(40)
    fails(('return {\n  { "%s", "/a", function() end },\n}\n'):format(long),
          "a%.lua:2: bad method '" .. long .. "' %(expected an upper%-case token such as GET, at most 32")
    fails(('return {\n  ["%s /a"] = function() end,\n}\n'):format(long), "a%.lua:2: bad method '" .. long .. "' %(")
  end)

  it("refuses options a route entry does not have, in either spelling", function()
    fails('return {\n  { "GET", "/x", function() end, timeout = 5 },\n}\n',
          "a%.lua:2: route #1: unexpected key 'timeout': an entry is")
    fails('return {\n  { method = "GET", path = "/x", handler = function() end, auth = true },\n}\n',
          "a%.lua:2: route #1: unexpected key 'auth'")
    fails('return {\n  { "GET", "/x", handler = function() end },\n}\n',
          "a%.lua:2: route #1: unexpected key 'handler'")
    fails('return {\n  { method = "GET", "/x", function() end },\n}\n',
          "a%.lua:2: route #1: unexpected key")
    fails('return {\n  { [true] = 1, "GET", "/x", function() end },\n}\n',
          "a%.lua:2: route #1: unexpected key %(a boolean%)")
  end)
end)
