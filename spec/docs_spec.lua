-- routes/docs.lua: GET /openapi.json and GET /docs. The document is held to
-- the route files (every route described, nothing else) and to what each
-- operation answers (a status it lists, with the members it says are there).
-- tests/app/test_quickstart.sh also checks it with an OpenAPI validator.
local t = require "tycho.test"
local HERE = debug.getinfo(1, "S").source:match("^@(.*)/[^/]*$") or "spec"
local app = dofile(HERE .. "/fixtures/app/helper.lua")

local METHODS = { "get", "head", "post", "put", "patch", "delete" }

-- "GET /get-data/{id}" for each route the route files declare, as the
-- loader finds them (`tycho check` lists them).
local function declared_routes()
  local found = {}
  local p = assert(io.popen(("%q check %q 2>&1"):format(t.exe(), app.ROUTES)))
  for line in p:lines() do
    local method, pattern = line:match("^%s+(%u+)%s+(/%S*)%s")
    if method then found[#found + 1] = method .. " " .. pattern:gsub(":([%w_]+)", "{%1}") end
  end
  p:close()
  table.sort(found)
  return found
end

local function documented(doc)
  local ops = {}
  for path, item in pairs(doc.paths) do
    for _, m in ipairs(METHODS) do
      if item[m] then
        ops[#ops + 1] = { key = m:upper() .. " " .. path, path = path, method = m, op = item[m] }
      end
    end
  end
  table.sort(ops, function(a, b) return a.key < b.key end)
  return ops
end

-- The request an operation gets here: path parameters an id no item has,
-- query parameters their example, no body.
local function target(o)
  local path = o.path:gsub("{[^}]+}", "spec-no-such-id")
  local query = {}
  for _, p in ipairs(o.op.parameters or {}) do
    if p["in"] == "query" and p.example ~= nil then
      query[#query + 1] = p.name .. "=" .. tostring(p.example)
    end
  end
  return #query > 0 and path .. "?" .. table.concat(query, "&") or path
end

describe("GET /openapi.json and GET /docs", function()
  setup(app.setup)
  teardown(app.teardown)
  before_each(app.reset)

  it("/openapi.json is an OpenAPI 3.1 document of this app", function()
    local res = t.get("/openapi.json")
    assert.equal(200, res.status)
    assert.matches("^application/json", res.headers["content-type"])
    assert.equal("3.1.0", res.body.openapi)
    assert.equal("tycho reference app", res.body.info.title)
    assert.equal(require("tycho.server").version, res.body.info.version)
  end)

  it("describes every route of the route files, and nothing else", function()
    local doc = t.get("/openapi.json").body
    local keys = {}
    for _, o in ipairs(documented(doc)) do keys[#keys + 1] = o.key end
    local routes = declared_routes()
    assert.is_true(#routes >= 11, "found only " .. #routes .. " routes in " .. app.ROUTES)
    assert.same(routes, keys)
  end)

  it("lists a summary and the answers of every operation, and every path parameter", function()
    for _, o in ipairs(documented(t.get("/openapi.json").body)) do
      assert.is_string(o.op.summary, o.key)
      assert.is_table(o.op.responses, o.key)
      assert.is_not_nil(next(o.op.responses), o.key)
      for name in o.path:gmatch("{([^}]+)}") do
        local p
        for _, q in ipairs(o.op.parameters or {}) do
          if q.name == name and q["in"] == "path" then p = q end
        end
        assert.is_table(p, o.key .. ": path parameter " .. name)
        assert.is_true(p.required, o.key .. ": a path parameter is required")
      end
    end
  end)

  it("says what each operation answers: a status it lists, the members it requires", function()
    for _, o in ipairs(documented(t.get("/openapi.json").body)) do
      local res = t.request(o.method:upper(), target(o))
      local reply = o.op.responses[tostring(res.status)]
      assert.is_table(reply, ("%s answered %d, which it does not list"):format(o.key, res.status))
      local media = next(reply.content or {})
      if media then
        assert.equal(media, (res.headers["content-type"] or ""):match("^[^;]+"), o.key)
      end
      local schema = reply.content and reply.content[media].schema or {}
      for _, member in ipairs(schema.required or {}) do
        assert.is_not_nil(res.body[member], ("%s %d: no %q in the answer"):format(o.key, res.status, member))
      end
    end
  end)

  -- the answers the request above does not reach: refusals of a caller or
  -- of its input, each a status the operation must list
  it("lists the status of every refusal an operation gives", function()
    local ops = {}
    for _, o in ipairs(documented(t.get("/openapi.json").body)) do ops[o.key] = o.op end
    for _, r in ipairs {
      { "GET /health", "/health?deep=1", { peer_ip = "203.0.113.9" }, 403 },
      -- an id no item has: one with a NUL, which the local backend cannot hold
      { "GET /get-data/{id}", "/get-data/a%00b", {}, 404 },
      -- a user_id the item cannot take: the answer's description says why
      { "POST /save-data", "/save-data", { body = { user_id = 7 } }, 400, "user_id" },
      { "POST /workflow", "/workflow", { body = { user_id = "" } }, 400, "user_id" },
    } do
      local key, path, opts, want, names = r[1], r[2], r[3], r[4], r[5]
      local res = t.request(key:match("^%u+"), path, opts)
      assert.equal(want, res.status, path)
      local reply = ops[key].responses[tostring(want)]
      assert.is_table(reply, ("%s answered %d to %s, which it does not list"):format(key, want, path))
      if names then
        assert.truthy(reply.description:find(names, 1, true),
          ("%s %d: the description does not name %s: %s"):format(key, want, names, reply.description))
        assert.truthy(res.body.error:find(names, 1, true), res.body.error)
      end
    end
  end)

  -- a failing backend: every member of the answer is one its schema lists
  it("lists every member of an answer to a failed backend call", function()
    local function members(key, path, overrides)
      app.configure(overrides)
      local op = {}
      for _, o in ipairs(documented(t.get("/openapi.json").body)) do op[o.key] = o.op end
      local res = t.request(key:match("^%u+"), path)
      assert.equal(502, res.status, key)
      local reply = op[key].responses[tostring(res.status)]
      assert.is_table(reply, ("%s answered %d, which it does not list"):format(key, res.status))
      local properties = reply.content["application/json"].schema.properties
      for member in pairs(res.body) do
        assert.is_table(properties[member], ("%s %d: the answer's %q is not in its schema"):format(
          key, res.status, member))
      end
      return res
    end
    local no_queue = { SQS_MESSAGE_QUEUE_URL = "app-spec-no-such-queue!" }
    local no_table = { DYNAMODB_APP_TABLE = "app-spec-no-such-table" }
    -- the item saved, the message not sent: the answer says which item
    assert.is_string(members("GET /workflow", "/workflow", no_queue).body.data_id)
    members("POST /workflow", "/workflow", no_queue)
    members("GET /workflow", "/workflow", no_table)
    members("POST /send-message", "/send-message", no_queue)
    members("GET /receive-messages", "/receive-messages?wait=0", no_queue)
    members("POST /save-data", "/save-data", no_table)
    members("GET /get-data/{id}", "/get-data/x", no_table)
  end)

  it("/openapi.json follows the configuration a reload reads", function()
    app.configure { MAX_PAYLOAD_BYTES = 1000 }
    local doc = t.get("/openapi.json").body
    assert.matches("larger than 1000 bytes", doc.paths["/save-data"].post.responses["413"].description)
  end)

  it("/docs is a page of this origin's script and style sheet only, under a policy that says so", function()
    local res = t.get("/docs")
    assert.equal(200, res.status)
    assert.equal("text/html; charset=utf-8", res.headers["content-type"])
    local policy = assert(res.headers["content-security-policy"], "no Content-Security-Policy")
    for _, directive in ipairs { "default-src 'none'", "script-src 'self'", "style-src 'self'",
        "connect-src 'self'", "frame-ancestors 'none'" } do
      assert.truthy(policy:find(directive, 1, true), "policy without " .. directive .. ": " .. policy)
    end
    assert.is_nil(policy:find("unsafe", 1, true), policy)
    local html = res.body:lower()
    assert.truthy(html:find('<script src="docs/app.js" defer></script>', 1, true))
    assert.truthy(html:find('<link rel="stylesheet" href="docs/app.css">', 1, true))
    -- nothing inline (the policy would block it) and nothing from elsewhere
    assert.is_nil(html:find("<script>", 1, true))
    assert.is_nil(html:find("<style", 1, true))
    assert.is_nil(html:find(" on%a+="))
    assert.is_nil(html:find('src="//', 1, true))
    assert.is_nil(html:find('src="http', 1, true))
    assert.is_nil(html:find('href="http', 1, true))
  end)

  it("serves the page's script and style sheet, typed and not to be sniffed", function()
    for path, media in pairs { ["/docs/app.js"] = "text/javascript", ["/docs/app.css"] = "text/css" } do
      local res = t.get(path)
      assert.equal(200, res.status, path)
      assert.equal(media .. "; charset=utf-8", res.headers["content-type"], path)
      assert.equal("nosniff", res.headers["x-content-type-options"], path)
      assert.is_true(#res.body > 200, path)
    end
    assert.matches('fetch%("openapi%.json"%)', t.get("/docs/app.js").body)
    assert.matches("%.error {", t.get("/docs/app.css").body)
  end)
end)
