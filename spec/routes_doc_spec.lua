-- The examples of docs/routes.md, run as the guide shows them. Each ```lua
-- block used here is read from the guide itself (found by a line of its
-- text), never copied: an edit of the guide that breaks an example, or a
-- change of the API that leaves an example behind, fails here. So does a
-- field of tycho.test's stats() that its row in the guide does not name.
--
-- The timer and consumer declarations are loaded, their `function(req) ...
-- end` sketches made functions; the outbound calls go to a real tycho
-- standing in for the hosts the guide names. Not run: tycho.aws's
-- DescribeTable of a table `items` and tycho.sqs's 5 s delayed send on the
-- shared queue; their modules' own specs cover those calls.
local t = require "tycho.test"
local json = require "tycho.json"
local metrics = require "tycho.metrics"
local protect = require "tycho.protect"
local uuid = require "tycho.uuid"

local here = debug.getinfo(1, "S").source:match("^@(.*)/[^/]+$") or "spec"
local folder = dofile(here .. "/fixtures/folder.lua")

-- The ```lua blocks of the guide (indented ones too, inside a list item),
-- each with the line it starts on.
local function doc_blocks()
  local f = assert(io.open(here .. "/../docs/routes.md"))
  local blocks, current, indent, n = {}, nil, nil, 0
  for line in f:lines() do
    n = n + 1
    if current then
      if line:match("^%s*```%s*$") and #line:match("^(%s*)") == #indent then
        blocks[#blocks + 1] = current
        current = nil
      else
        current.text = current.text .. line:sub(#indent + 1) .. "\n"
      end
    else
      local ind = line:match("^(%s*)```lua%s*$")
      if ind then current, indent = { text = "", line = n + 1 }, ind end
    end
  end
  f:close()
  return blocks
end
local BLOCKS = doc_blocks()

-- The one block holding `marker` (plain text): its source.
local function example(marker)
  local found
  for _, b in ipairs(BLOCKS) do
    if b.text:find(marker, 1, true) then
      assert(not found, "docs/routes.md: two ```lua blocks hold " .. marker)
      found = b
    end
  end
  assert(found, "docs/routes.md: no ```lua block holds " .. marker .. " any more")
  return found.text, "docs/routes.md:" .. found.line
end

-- Runs a spec example in this spec's environment (busted's assert), its
-- describe and it blocks at once, in order; returns the names of the tests
-- it ran.
local SPEC_ENV = getfenv(1)
local function run_spec_example(src, name)
  local ran = {}
  local env = setmetatable({
    describe = function(_, fn) fn() end,
    it = function(what, fn) fn(); ran[#ran + 1] = what end,
  }, { __index = SPEC_ENV })
  local chunk = assert(loadstring(src, "=" .. name))
  setfenv(chunk, env)()
  return ran
end

-- Whether two decoded JSON values are the same text's: as assert.same, and
-- an array is never an object (`[]` is not `{}`).
local function same_json(a, b)
  if type(a) ~= "table" or type(b) ~= "table" then return a == b end
  if json.is_array(a) ~= json.is_array(b) then return false end
  for k, v in pairs(a) do
    if not same_json(v, b[k]) then return false end
  end
  for k in pairs(b) do
    if a[k] == nil then return false end
  end
  return true
end

-- Serves the route files `files` for the duration of fn.
local function with_routes(files, fn)
  local dir = folder.new(files)
  local previous = t.routes_dir()
  assert(t.use_routes(dir))
  local ok, err = protect.pcall(fn)
  assert(t.use_routes(previous))
  folder.remove(dir)
  if not ok then error(err, 0) end
end

describe("docs/routes.md's examples", function()
  it("the route file that opens the guide answers as its comments say", function()
    local items = example("-- routes/items.lua")
    with_routes({ ["items.lua"] = items }, function()
      local res = t.get("/items/42")
      assert.equal(200, res.status)
      assert.equal("42", res.body.id)
      assert.is_number(res.body.at) -- time.now()
      res = t.get("/items/0")
      assert.equal(404, res.status)
      assert.same({ error = "no such item" }, res.body)
      t.capture_logs()
      res = t.post("/items", { body = { name = "pen" } })
      local logs = t.logs()
      t.capture_logs(false)
      assert.equal(201, res.status)
      assert.same({ created = "pen" }, res.body)
      assert.equal("/items/pen", res.headers.location)
      local created
      for _, l in ipairs(logs) do
        if l.msg == "item created" then created = l end
      end
      assert.is_table(created, "no 'item created' line")
      assert.equal("pen", created.name)
      assert.equal("/items", created.route)
      res = t.post("/items", { body = "{" }) -- bad JSON -> 400
      assert.equal(400, res.status)
      assert.matches("^invalid JSON body: ", res.body.error)
      res = t.get("/health")
      assert.equal(200, res.status)
      assert.equal("ok", res.raw)
      assert.equal("text/plain; charset=utf-8", res.headers["content-type"])
    end)
  end)

  it("the spec example (spec/items_spec.lua) passes against that route file", function()
    local items = example("-- routes/items.lua")
    local src, name = example("-- spec/items_spec.lua")
    with_routes({ ["items.lua"] = items }, function()
      assert.same({ "returns an item", "rejects bad JSON" }, run_spec_example(src, name))
    end)
  end)

  it("the three spellings of a route entry declare one route each", function()
    local src = example('{ method = "PUT", path = "/a/:id", handler = handler }')
    local file = "local handler = function(req) return { method = req.method, id = req.params.id } end\n"
      .. src
    with_routes({ ["a.lua"] = file }, function()
      for _, method in ipairs { "GET", "PUT", "DELETE" } do
        local res = t.request(method, "/a/7")
        assert.equal(200, res.status, method)
        assert.same({ method = method, id = "7" }, res.body)
      end
      assert.equal("GET, HEAD, PUT, DELETE, OPTIONS", t.post("/a/7").headers.allow)
    end)
  end)

  it("tycho.json's examples give the values after their -->", function()
    local src, name = example("json.encode({ a = 1, list = json.array() })")
    local checked = 0
    for line in src:gmatch("[^\n]+") do
      local expr, want = line:match("^(.-)%s*%-%->%s*(.-)%s*$")
      if expr then
        local got = assert(loadstring("return " .. expr, "=" .. name))
        setfenv(got, { json = json })
        got = got()
        if type(got) == "string" then -- encoded text: keys come in no particular order
          assert.is_true(same_json(json.decode(want), json.decode(got)), line .. ": got " .. got)
        else
          local expected = assert(loadstring("return " .. want, "=" .. name))
          setfenv(expected, { json = json })
          assert.same(expected(), got, line)
        end
        checked = checked + 1
      end
    end
    assert.equal(2, checked)
  end)

  it("tycho.metrics' example defines and updates what it says", function()
    local src, name = example('metrics.counter("app_visits_total"')
    local function v(metric, labels) return metrics.value(metric, labels) end
    local visit = v("app_visits_total", { action = "visit" }) or 0
    local buy = v("app_visits_total", { action = "buy" }) or 0
    local work = v("app_work_seconds", { kind = "resize" })
    local worked = work and work.count or 0
    local chunk = assert(loadstring(src, "=" .. name))
    chunk()
    assert.equal(visit + 1, v("app_visits_total", { action = "visit" })) -- +1
    assert.equal(buy + 2, v("app_visits_total", { action = "buy" }))     -- +2
    assert.equal(9, v("app_queue_depth"))                                 -- 12 - 1 + 1 - 3
    work = v("app_work_seconds", { kind = "resize" })
    assert.equal(worked + 1, work.count)
  end)

  it("the telemetry-in-specs example passes against a route counting visits", function()
    local src, name = example('it("counts a visit and traces it"')
    local route = [[
local metrics = require "tycho.metrics"
local visits = metrics.counter("app_visits_total", "Visits by action.", { "action" })
return { ["GET /visit"] = function() visits:inc { action = "visit" } return { ok = true } end }
]]
    with_routes({ ["visit.lua"] = route }, function()
      assert.same({ "counts a visit and traces it" }, run_spec_example(src, name))
    end)
  end)

  it("the timer and consumer declarations load, every option they show known", function()
    -- their routes' bodies are the guide's `...`; purge_expired and process
    -- the reader's own functions
    local function loadable(src, prelude)
      local file, n = src:gsub("function%(req%) %.%.%. end", "function() return \"\" end")
      assert.equal(1, n, "the route sketch of\n" .. src)
      return prelude .. file
    end
    local timers = loadable(example("timers = {"), "local function purge_expired() return 0 end\n")
    local consumers = loadable(example("consumers = {"), "local function process() end\n")
    local dir = folder.new { ["jobs.lua"] = timers, ["queue.lua"] = consumers }
    local previous = t.routes_dir()
    local gen, err = t.use_routes(dir)
    assert(t.use_routes(previous))
    folder.remove(dir)
    assert.is_number(gen, err)
  end)

  it("tycho.trace's tour runs in a handler and records what its comments say", function()
    local tour = example('local sp = trace.current()')
    -- the names the tour takes from the handler around it
    local file = ([[
return { ["GET /traced"] = function(req)
  local user, key, err, id = { id = "u-1" }, "k-1", "payment refused", "o-1"
  local items = { get = function(_, k) require("tycho.time").sleep(0) return { id = k.id, price = 3 } end }
%s
  return { order = order.id, price = price, ids = ids, traceparent = trace.headers().traceparent }
end }
]]):format(tour)
    with_routes({ ["traced.lua"] = file }, function()
      t.spans() -- forget earlier spans
      local res = t.get("/traced")
      assert.equal(200, res.status)
      assert.equal("o-1", res.body.order)
      assert.equal(3, res.body.price)
      local trace_id, span_id, sampled = res.body.ids[1], res.body.ids[2], res.body.ids[3]
      assert.matches("^%x+$", trace_id)
      assert.equal(32, #trace_id)
      assert.equal(trace_id:lower(), trace_id)
      assert.equal(16, #span_id)
      assert.is_true(sampled)
      local flags = res.body.traceparent:match("^00%-" .. trace_id .. "%-" .. span_id .. "%-(%x%x)$")
      assert.is_string(flags, res.body.traceparent)
      assert.equal(1, tonumber(flags, 16) % 2) -- sampled
      local server, child
      for _, sp in ipairs(t.spans()) do
        if sp.kind == "SERVER" then server = sp elseif sp.name == "load order" then child = sp end
      end
      assert.is_table(server, "no server span")
      assert.is_table(child, "no 'load order' span")
      assert.equal(span_id, server.span_id)
      assert.equal(server.span_id, child.parent_span_id)
      assert.equal("o-1", child.attributes["app.order_id"])
      assert.equal("u-1", server.attributes["app.user_id"])
      assert.same({ "a", "b" }, server.attributes["app.tags"])
      assert.equal("ERROR", server.status) -- record_error, though it answered 200
      local events = {}
      for _, e in ipairs(server.events) do events[e.name] = e.attributes end
      assert.same({ key = "k-1" }, events["cache miss"])
      assert.is_table(events.exception, "no exception event")
      assert.equal("payment refused", events.exception["exception.message"])
    end)
  end)

  -- tycho.all, tycho.http's example and its redirect recipe call other
  -- services over HTTP: a real tycho serves them here, the examples' hosts
  -- replaced by its URL.
  describe("against a real server", function()
    local peer, dir
    setup(function()
      dir = folder.new {
        ["peer.lua"] = [[
local json = require "tycho.json"
return {
  ["GET /users/:id"] = function(req) return { id = req.params.id } end,
  ["GET /orders"] = function(req) return json.array { { user = req.query.user, n = 1 } } end,
  ["GET /old/:id"] = function(req) return 301, nil, { Location = "/users/" .. req.params.id } end,
  ["POST /v1/things"] = function(req)
    return { query = req.query, authorization = req.headers.authorization,
             content_type = req.headers.content_type, body = req:json() }
  end,
}
]],
      }
      peer = t.serve { routes = dir, workers = 1 }
    end)
    teardown(function()
      if peer then peer:stop() end
      if dir then folder.remove(dir) end
    end)

    it("tycho.all's example gets both answers in one handler", function()
      local src = example('["GET /overview/:id"]')
      local base = peer.url(""):gsub("/$", "")
      local file = src:gsub("http://users%.internal", base):gsub("http://orders%.internal", base)
      assert.is_nil(file:find(".internal", 1, true))
      with_routes({ ["overview.lua"] = file }, function()
        local res = t.get("/overview/7")
        assert.equal(200, res.status)
        assert.same({ user = { id = "7" }, orders = { { user = "7", n = 1 } } }, res.body)
      end)
    end)

    it("tycho.http's request example sends what its comments say", function()
      local src = example("local status, headers, body = http.request {")
      local base = peer.url(""):gsub("/$", "")
      local file, n = src:gsub("https://api%.example%.com", base)
      assert.equal(2, n) -- the url, and the message in the comment
      file = ([[
return { ["GET /call"] = function(req)
  local token = "t-1"
%s
  return { data = data, err = err }
end }
]]):format(file)
      with_routes({ ["call.lua"] = file }, function()
        local res = t.get("/call")
        assert.equal(200, res.status)
        assert.same({
          query = { q = "a & b", tag = { "x", "y" } },
          authorization = "Bearer t-1",
          content_type = "application/json", -- a table is sent as JSON (Content-Type set)
          body = { name = "x" },
        }, res.body.data)
      end)
    end)

    it("the redirect recipe of tycho.http follows a relative Location", function()
      local src = example("if status >= 301 and status <= 308 and headers.location then")
      local file = ([[
local http = require "tycho.http"
return { ["GET /follow/:id"] = function(req)
  local url = %q .. req.params.id
%s
  return status, http.json(headers, body)
end }
]]):format(peer.url("/old/"), src)
      with_routes({ ["follow.lua"] = file }, function()
        local res = t.get("/follow/9")
        assert.equal(200, res.status)
        assert.same({ id = "9" }, res.body)
      end)
    end)
  end)

  it("tycho.test's stats() row names the fields stats() returns", function()
    local f = assert(io.open(here .. "/../docs/routes.md"))
    local row
    for line in f:lines() do
      if line:find("^| `stats%(%)` |") then row = line end
    end
    f:close()
    assert.is_string(row, "docs/routes.md: no `stats()` row in tycho.test's table")
    local named, stats = {}, t.stats()
    for field in row:gmatch("`([%w_]+)`") do
      assert.is_not_nil(stats[field], "stats() has no field " .. field)
      named[field] = true
    end
    for field in pairs(stats) do
      assert.is_true(named[field], "the stats() row does not name " .. field)
    end
  end)

  it("tycho.dynamodb's example puts and gets an item, and its condition recipe answers 409", function()
    local src, name = example("items:put({ id = ")
    local recipe = example("if ddb.is_condition_failed(err) then")
    -- a key of its own: the data directory outlives the run
    local id = uuid()
    local put_get = src:gsub('id = "1"', ("id = %q"):format(id))
    assert.is_not.equal(src, put_get)
    local chunk = assert(loadstring(put_get .. "\nreturn item, items, ddb", "=" .. name))
    local item, items, ddb = chunk()
    assert.same({ id = id, timestamp = "2026-01-01", n = 3 }, item)
    local again = assert(loadstring(
      "local items, item, ddb = ...\n" .. recipe .. "\nreturn 200", "=" .. name))
    local status, body = again(items, { id = id, timestamp = "2026-01-01" }, ddb)
    assert.equal(409, status)
    assert.same({ error = "exists" }, body)
  end)
end)
