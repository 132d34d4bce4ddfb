-- The req object handed to handlers.
local t = require "tycho.test"
local here = debug.getinfo(1, "S").source:match("^@(.*)/[^/]+$") or "spec"
local basic = dofile(here .. "/fixtures/serve.lua")("basic")

describe("req:json() called with a dot", function()
  local folder = dofile(here .. "/fixtures/folder.lua")
  local dir, previous
  setup(function()
    dir = folder.new { ["dot.lua"] = 'return {\n  ["POST /dot"] = function(req)\n'
      .. '    local body = req.json()\n    return body\n  end,\n}\n' }
    previous = t.routes_dir()
    assert(t.use_routes(dir))
  end)
  teardown(function()
    t.capture_logs(false)
    t.use_routes(previous)
    folder.remove(dir)
  end)

  it("says to write req:json(), at the handler's line", function()
    t.capture_logs()
    local res = t.post("/dot", { body = "{}" })
    assert.equal(500, res.status)
    local line
    for _, l in ipairs(t.logs()) do if l.msg == "handler error" then line = l end end
    assert.is_table(line)
    assert.matches("/dot%.lua:3: req%.json%(%) without the request: write req:json%(%), with a colon "
      .. "%(got no value%)$", line.error)
  end)
end)

describe("req", function()
  setup(basic.setup)
  teardown(function()
    t.set_limits { trusted_proxies = "" }
    basic.teardown()
  end)

  it("gives method, path, id, route and body", function()
    local res = t.request("GET", "/echo?x=1", { request_id = "rid-1", body = "raw body" })
    assert.equal("GET", res.body.method)
    assert.equal("/echo", res.body.path)
    assert.equal("rid-1", res.body.id)
    assert.equal("/echo", res.body.route)
    assert.equal("raw body", res.body.body)
  end)

  it("takes only a request id the server would take from X-Request-Id", function()
    for _, bad in ipairs { 'a"b', "a\\b", "a b", "", string.rep("r", 129), "caf\195\169" } do
      local ok, err = pcall(t.get, "/echo", { request_id = bad })
      assert.is_false(ok, bad)
      assert.matches("printable ASCII", tostring(err))
    end
    assert.equal(string.rep("r", 128), t.get("/echo", { request_id = string.rep("r", 128) }).body.id)
  end)

  it("gives the id tycho serve would: a valid X-Request-Id, else 32 hex digits", function()
    local a, b = t.get("/echo").body.id, t.get("/echo").body.id
    assert.matches("^[0-9a-f]+$", a)
    assert.equal(32, #a)
    assert.matches("^[0-9a-f]+$", b)
    assert.are_not.equal(a, b)
    assert.equal("from-header", t.get("/echo", { headers = { ["X-Request-Id"] = "from-header" } }).body.id)
    local made = t.get("/echo", { headers = { ["x-request-id"] = "not valid" } }).body.id
    assert.equal(32, #made)
    assert.matches("^[0-9a-f]+$", made)
    -- the option wins over the header, as documented
    assert.equal("opt", t.get("/echo", { request_id = "opt", headers = { ["X-Request-Id"] = "hdr" } }).body.id)
  end)

  it("decodes the query, repeated keys as arrays", function()
    local q = t.get("/echo?a=1&b=x%20y&a=2&c&d=e+f&a=3&&").body.query
    assert.same({ a = { "1", "2", "3" }, b = "x y", c = "", d = "e f" }, q)
    assert.same({}, t.get("/echo").body.query)
  end)

  it("decodes long query values and keeps a bad escape as is", function()
    local long = string.rep("%41+", 400) -- 1,600 bytes: decoded off the stack
    local q = t.get("/echo?v=" .. long .. "&bad=%zz%4&pct=100%").body.query
    assert.equal(string.rep("A ", 400), q.v)
    assert.equal("%zz%4", q.bad)
    assert.equal("100%", q.pct)
  end)

  it("looks headers up case-insensitively (and _ as -)", function()
    local b = t.get("/echo", { headers = { ["user-agent"] = "spec/1" } }).body
    assert.equal("spec/1", b.ua)
    assert.equal("spec/1", b.ua2)
  end)

  it("keeps a long header name whole (it was cut at 256 bytes)", function()
    for _, len in ipairs { 255, 256, 257, 300, 9000 } do
      local name = "X-" .. string.rep("N", len - 2)
      local b = t.get("/request-headers", { headers = { [name] = "v" } }).body
      local found
      for _, k in ipairs(b.names) do if k == name:lower() then found = true end end
      assert.is_true(found, "no header named x-n... of " .. len .. " bytes")
    end
  end)

  it("leaves out a header whose name has an underscore: x_user is X-User's", function()
    local b = t.get("/request-headers", { headers = { ["X_User"] = "admin", ["X-User"] = "bob" } }).body
    assert.equal("bob", b.underscore)
    assert.equal("bob", b.dashed)
    b = t.get("/request-headers", { headers = { ["X_User"] = "admin" } }).body
    assert.is_nil(b.underscore)
    assert.is_nil(b.dashed)
    for _, name in ipairs(b.names) do assert.is_nil(name:find("_", 1, true), name) end
  end)

  it("carries many headers whole (the request's strings fit their block: ASan build)", function()
    local h, want = {}, {}
    for i = 1, 12 do
      h["X-H" .. i] = string.rep("v", i)
      want[#want + 1] = "x-h" .. i
    end
    local names = t.get("/request-headers", { headers = h, body = "b" }).body.names
    local got = {}
    for _, n in ipairs(names) do if n:find("^x%-h%d+$") then got[#got + 1] = n end end
    table.sort(want)
    assert.same(want, got)
  end)

  it("decodes JSON bodies with req:json()", function()
    local res = t.post("/json", { body = { name = "x", list = { 1, 2 } } })
    assert.equal(200, res.status)
    assert.same({ name = "x", list = { 1, 2 } }, res.body.got)
  end)

  it("answers a bad JSON body with a 400 naming the problem", function()
    local res = t.post("/json", { body = '{"name": }', request_id = "rid-json" })
    assert.equal(400, res.status)
    assert.equal("invalid JSON body: invalid JSON at line 1, column 10 (byte 10) near '}'", res.body.error)
    assert.equal("rid-json", res.body.request_id)
    res = t.post("/json", { body = "" })
    assert.equal(400, res.status)
    assert.matches("empty", res.body.error)
  end)

  it("keeps what a handler read from req; other fields of a finished request raise", function()
    t.get("/stash")
    local b = t.get("/stashed").body
    assert.equal("GET", b.method)
    assert.equal("kept", b.mine)
    assert.is_false(b.ok)
    assert.matches("req.query: request is finished", b.err)
  end)

  it("gives every request its own fields, whether or not a handler stored any", function()
    for _, path in ipairs { "/own-fields", "/no-fields", "/own-fields" } do
      local b = t.get(path).body
      if path == "/own-fields" then
        assert.is_nil(b.seen)
        assert.equal("mine", b.note)
        assert.equal("/own-fields", b.path)
      end
    end
  end)

  it("refuses a store into the shared empty fields through debug.getfenv", function()
    local b = t.get("/shared-fields").body
    assert.is_false(b.ok)
    assert.matches("are shared", b.err)
    assert.is_nil(b.leak)
    assert.is_nil(t.get("/shared-fields").body.leak)
  end)

  it("uses the peer address as client_ip unless the peer is a trusted proxy", function()
    local xff = { ["X-Forwarded-For"] = "1.2.3.4, 10.0.0.7" }
    assert.equal("10.0.0.9", t.get("/echo", { peer_ip = "10.0.0.9", headers = xff }).body.client_ip)
    t.set_limits { trusted_proxies = "10.0.0.0/8" }
    -- read from the right, skipping trusted proxies: 1.2.3.4 is the client
    assert.equal("1.2.3.4", t.get("/echo", { peer_ip = "10.0.0.9", headers = xff }).body.client_ip)
    -- an untrusted peer's X-Forwarded-For is ignored
    assert.equal("8.8.8.8", t.get("/echo", { peer_ip = "8.8.8.8", headers = xff }).body.client_ip)
    -- a forged leftmost entry does not win over the first untrusted hop
    local forged = { ["X-Forwarded-For"] = "6.6.6.6, 5.5.5.5, 10.1.1.1" }
    assert.equal("5.5.5.5", t.get("/echo", { peer_ip = "10.0.0.9", headers = forged }).body.client_ip)
    t.set_limits { trusted_proxies = "" }
  end)
end)
