-- tycho.http against a loopback server (tests/aws/fake_http.py, started here):
-- results, JSON bodies, every HTTP status as a result, transport errors as
-- nil + message + kind, timeouts, size cap, bad arguments.
local http = require "tycho.http"
local json = require "tycho.json"
local time = require "tycho.time"

local here = debug.getinfo(1, "S").source:match("^@(.*)/[^/]+$") or "spec"

local server = {}

local function start_server()
  local out = os.tmpname()
  local p = assert(io.popen(("/usr/bin/python3 %q/../tests/aws/fake_http.py > %q 2>&1 & echo $!")
    :format(here, out)))
  server.pid = tonumber(p:read "*l")
  p:close()
  for _ = 1, 200 do
    local f = io.open(out)
    local port = f and f:read "*l"
    if f then f:close() end
    if port and tonumber(port) then
      server.url = "http://127.0.0.1:" .. port
      break
    end
    time.sleep(0.025)
  end
  os.remove(out)
  assert(server.url, "fake_http.py did not start")
end

-- a loopback port nobody listens on (bound, then closed)
local function closed_port()
  local p = assert(io.popen("/usr/bin/python3 -c 'import socket; s = socket.socket(); " ..
    "s.bind((\"127.0.0.1\", 0)); print(s.getsockname()[1]); s.close()'"))
  local port = p:read "*l"
  p:close()
  return port
end

-- the error http.request raises for these options, or nil when it does not raise
local function refusal(opts)
  local ok, err = pcall(http.request, opts)
  if ok then return nil end
  return tostring(err)
end

describe("tycho.http", function()
  setup(start_server)
  teardown(function() if server.pid then os.execute("kill " .. server.pid) end end)

  it("makes a request and returns status, headers and body", function()
    local status, headers, body = http.request {
      method = "POST", url = server.url .. "/echo?x=1",
      headers = { ["X-Custom"] = "yes", ["Content-Type"] = "text/plain" }, body = "payload" }
    assert.equal(200, status)
    assert.equal("yes", headers["x-echo"])
    assert.equal("application/json", headers["content-type"])
    local echo = json.decode(body)
    assert.equal("POST", echo.method)
    assert.equal("/echo?x=1", echo.path)
    assert.equal("payload", echo.body)
    local seen = {}
    for _, kv in ipairs(echo.headers) do seen[kv[1]:lower()] = kv[2] end
    assert.equal("yes", seen["x-custom"])
    assert.equal("text/plain", seen["content-type"])
    assert.matches("^tycho/", seen["user-agent"])
  end)

  it("sends a table body as JSON", function()
    local status, headers, body = http.post(server.url .. "/echo", { a = 1, list = { 1, 2 } })
    assert.equal(200, status)
    local echo = assert(http.json(headers, body))
    assert.same({ a = 1, list = { 1, 2 } }, json.decode(echo.body))
    local ct
    for _, kv in ipairs(echo.headers) do if kv[1]:lower() == "content-type" then ct = kv[2] end end
    assert.equal("application/json", ct)
  end)

  it("returns any HTTP status as a result, not an error", function()
    for _, code in ipairs { 201, 404, 500, 503 } do
      local status = http.get(server.url .. "/status?code=" .. code)
      assert.equal(code, status)
    end
  end)

  it("does not follow redirects: a 3xx is a result, with its location", function()
    local status, headers = http.get(server.url .. "/redirect?to=/echo")
    assert.equal(302, status)
    assert.equal("/echo", headers.location)
  end)

  it("yields while waiting: two slow requests in a row take their time, the loop keeps running", function()
    local t0 = time.monotonic()
    local status, _, body = http.get(server.url .. "/delay?ms=200")
    assert.equal(200, status)
    assert.same({ delayed = true }, json.decode(body))
    assert.is_true(time.monotonic() - t0 >= 0.19)
  end)

  it("reports a timeout as nil, a clear message and the kind", function()
    local t0 = time.monotonic()
    local status, err, kind = http.request { url = server.url .. "/delay?ms=2000", timeout = 0.2 }
    assert.is_nil(status)
    assert.equal("timeout", kind)
    assert.matches("GET http://127.0.0.1:%d+/delay", err)
    assert.is_true(time.monotonic() - t0 < 1.5)
  end)

  it("reports a refused connection", function()
    local status, err, kind = http.get("http://127.0.0.1:" .. closed_port() .. "/")
    assert.is_nil(status)
    assert.equal("connect", kind)
    assert.is_string(err)
  end)

  it("reports a reset or closed connection", function()
    local status, _, kind = http.get(server.url .. "/reset")
    assert.is_nil(status)
    assert.equal("connection", kind)
  end)

  it("caps the response size", function()
    local status, _, kind = http.request { url = server.url .. "/big?n=100000", max_response_bytes = 1000 }
    assert.is_nil(status)
    assert.equal("too_large", kind)
    local ok, _, body = http.request { url = server.url .. "/big-chunked?n=50000" }
    assert.equal(200, ok)
    assert.equal(50000, #body)
  end)

  it("caps the body, not the headers around it, and says so", function()
    local status, _, body = http.request { url = server.url .. "/big?n=900", max_response_bytes = 1000 }
    assert.equal(200, status)
    assert.equal(900, #body)
    local _, err, kind = http.request { url = server.url .. "/big?n=1001", max_response_bytes = 1000 }
    assert.equal("too_large", kind)
    assert.matches("^GET http://127%.0%.0%.1:%d+/big.*: response body too large: more than 1000 bytes$", err)
    -- a body of exactly the default cap, 16 MiB
    status, _, body = http.get(server.url .. "/big?n=" .. 16 * 1024 * 1024)
    assert.equal(200, status)
    assert.equal(16 * 1024 * 1024, #body)
  end)

  it("rejects bad arguments with a Lua error", function()
    assert.has_error(function() http.request { url = "ftp://x/" } end)
    assert.has_error(function() http.request { url = "http:///nohost" } end)
    assert.has_error(function() http.request { method = "get", url = server.url } end)
    -- a NUL cut the method short: "GET\0x" went out as GET
    assert.error_matches(function() http.request { method = "GET\0x", url = server.url } end,
      "method must be a string like")
    assert.has_error(function() http.request { url = server.url, timeout = -1 } end)
    assert.has_error(function() http.request { url = server.url, headers = { ["X-Bad"] = {} } } end)
    assert.has_error(function() http.request { url = server.url, body = function() end } end)
  end)

  it("refuses an unknown option, naming it and the known ones", function()
    assert.equal("tycho.http.request: unknown option 'timout' (method, url, query, headers, body, timeout, "
      .. "connect_timeout, max_response_bytes)", refusal { url = server.url .. "/echo", timout = 1 })
    local ok, err = pcall(http.get, server.url .. "/echo", { header = { ["X-A"] = "1" } })
    assert.is_false(ok)
    assert.equal("tycho.http.get: unknown option 'header' (query, headers, body, timeout, connect_timeout, "
      .. "max_response_bytes)", err)
    ok, err = pcall(http.post, server.url .. "/echo", "x", { body = "y" })
    assert.is_false(ok)
    assert.matches("^tycho%.http%.post: unknown option 'body' %(query, headers, timeout,", err)
    -- raised at the caller's line
    ok, err = pcall(function() http.put(server.url .. "/echo", "x", { timeuot = 1 }) end)
    assert.matches("^[^:]*http_spec%.lua:%d+: tycho%.http%.put: unknown option 'timeuot'", err)
  end)

  -- HEAD: the body would go out without it; TRACE: a client must not send
  -- one (RFC 9110 9.3.8). Without a body both are sent.
  for _, method in ipairs { "HEAD", "TRACE" } do
    it("refuses a body with " .. method, function()
      local want = ("tycho.http.request: a %s request takes no body"):format(method)
      assert.equal(want, refusal { method = method, url = server.url .. "/echo", body = "x" })
      assert.equal(want, refusal { method = method, url = server.url .. "/echo", body = { a = 1 } })
      local status, _, body = http.request { method = method, url = server.url .. "/echo" }
      assert.equal(200, status)
      if method == "TRACE" then assert.equal("TRACE", json.decode(body).method) end
    end)
  end

  it("answers a HEAD whose Content-Length is past max_response_bytes: no body comes", function()
    -- the size of a large download, asked before fetching it
    local status, headers, body = http.request { method = "HEAD", url = server.url .. "/big?n=20000000" }
    assert.equal(200, status)
    assert.equal("20000000", headers["content-length"])
    assert.equal("", body)
    status, headers = http.request { method = "HEAD", url = server.url .. "/big?n=2000", max_response_bytes = 100 }
    assert.equal(200, status)
    assert.equal("2000", headers["content-length"])
    -- the GET of it is still capped
    local _, err, kind = http.request { url = server.url .. "/big?n=2000", max_response_bytes = 100 }
    assert.equal("too_large", kind)
    assert.matches("response body too large: more than 100 bytes$", err)
  end)

  it("refuses a max_response_bytes that is not a whole number, naming it", function()
    assert.equal("tycho.http.request: max_response_bytes must be an integer, got 1.9",
      refusal { url = server.url .. "/echo", max_response_bytes = 1.9 })
    local status, _, body = http.request { url = server.url .. "/big?n=2", max_response_bytes = 2 }
    assert.equal(200, status)
    assert.equal(2, #body)
  end)

  it("names the shortcut called in the errors of its options and arguments", function()
    local ok, err = pcall(http.get, server.url .. "/echo", { max_response_bytes = 0.5 })
    assert.is_false(ok)
    assert.equal("tycho.http.get: max_response_bytes must be an integer, got 0.5", err)
    ok, err = pcall(http.post, server.url .. "/echo", function() end)
    assert.is_false(ok)
    assert.equal("tycho.http.post: body must be a string or a table (JSON)", err)
    -- the options table given to a shortcut in place of its url
    ok, err = pcall(http.get, { url = server.url .. "/echo" })
    assert.is_false(ok)
    assert.equal("tycho.http.get: url must be a string, got table", err)
    assert.equal("tycho.http.request: url is required", refusal { method = "GET" })
    ok, err = pcall(http.delete, "ftp://x/")
    assert.is_false(ok)
    assert.matches("^tycho%.http%.delete: bad url", err)
    ok, err = pcall(http.put, server.url .. "/echo", "x", { timeout = -1 })
    assert.is_false(ok)
    assert.matches("^tycho%.http%.put: timeout out of range", err)
  end)

  it("refuses a url holding a NUL byte, a space or a control character as a bad url", function()
    local why = "%(a space, a control character or a NUL byte%)"
    for _, u in ipairs { "/echo\0x", "/echo x", "/echo\tx", "/echo\r\nX-Injected: 1" } do
      assert.matches("^tycho%.http%.request: bad url '.*' " .. why, refusal { url = server.url .. u })
    end
    local ok, err = pcall(http.get, server.url .. "/echo\0x")
    assert.is_false(ok)
    assert.matches("bad url", err)
  end)

  it("json() decodes a JSON body, and gives nil and the error for one that does not parse", function()
    local ct = { ["content-type"] = "application/json; charset=utf-8" }
    assert.same({ a = 1 }, http.json(ct, '{"a":1}'))
    local v, err = http.json(ct, "<html>502 Bad Gateway</html>")
    assert.is_nil(v)
    assert.matches("^json%.decode: invalid JSON at line 1, column 1", err)
    assert.is_nil(http.json({ ["content-type"] = "text/html" }, "<html></html>"))
    assert.is_nil(http.json(ct, ""))
  end)

  it("json() reads the media type in any case, and not its parameters", function()
    assert.same({ a = 1 }, http.json({ ["content-type"] = "Application/JSON" }, '{"a":1}'))
    assert.same({ a = 1 }, http.json({ ["content-type"] = "application/problem+JSON; charset=utf-8" }, '{"a":1}'))
    assert.is_nil(http.json({ ["content-type"] = "text/plain; profile=json" }, '{"a":1}'))
  end)

  it("shows URLs redacted in every message: no password, no query", function()
    local err = refusal { url = "ftp://user:s3cret@127.0.0.1/x?token=abc" }
    assert.equal("tycho.http.request: bad url 'ftp://***@127.0.0.1/x?...' (http:// or https:// with a host)",
      err)
    local port = closed_port()
    local status, msg, kind = http.get("http://user:s3cret@127.0.0.1:" .. port .. "/x?token=abc")
    assert.is_nil(status)
    assert.equal("connect", kind)
    assert.matches("^GET http://%*%*%*@127%.0%.0%.1:" .. port .. "/x%?%.%.%.: ", msg)
    for _, m in ipairs { err, msg } do
      assert.is_nil(m:find("s3cret", 1, true))
      assert.is_nil(m:find("token", 1, true))
    end
  end)

  it("hides a password holding '/' or '?' whole, though it cuts the host short", function()
    -- an AWS secret key or a base64 one: "u:s3c" reads as a host with a bad port
    for _, url in ipairs { "http://u:s3c/ret@127.0.0.1/x", "http://u:s3c?ret@127.0.0.1/x" } do
      local err = refusal { url = url }
      assert.equal("tycho.http.request: bad url 'http://***@127.0.0.1/x' (http:// or https:// with a host)",
        err)
    end
  end)

  it("hides a password of digits, '/' and digits, though the URL reads as host:port then path", function()
    -- RFC 3986 and curl read "u:99999" as host u, port 99999, "/34@..." as the path
    local err = refusal { url = "http://u:99999/34@127.0.0.1/x" }
    assert.equal("tycho.http.request: bad url 'http://***@127.0.0.1/x' (port out of range: 1..65535)", err)
    -- sent as curl reads it: to 127.0.0.1 port 12 (nothing listens there)
    local status, msg = http.request { url = "http://127.0.0.1:12/34@127.0.0.1/x", timeout = 2 }
    assert.is_nil(status)
    assert.is_nil(msg:find("12/34", 1, true), msg)
    assert.truthy(msg:find("GET http://***@127.0.0.1/x: ", 1, true), msg)
  end)

  it("says it cannot wait inside a coroutine the handler created", function()
    local ok, err = pcall(coroutine.wrap(function() return http.get(server.url .. "/echo") end))
    assert.is_false(ok)
    assert.matches("^tycho%.http%.get: cannot wait here: inside a coroutine the handler created", err)
    ok, err = pcall(coroutine.wrap(function() return require("tycho.aws").call("sqs", "AmazonSQS.ListQueues", {}) end))
    assert.is_false(ok)
    assert.matches("tycho%.aws%.call: cannot wait here: inside a coroutine the handler created", err)
    ok, err = pcall(coroutine.wrap(function() return time.sleep(0) end))
    assert.is_false(ok)
    assert.matches("^cannot wait here: inside a coroutine the handler created", err)
  end)

  it("says when a port is out of range", function()
    for _, u in ipairs { "http://h:99999/", "http://h:0/", "https://h:65536" } do
      assert.matches("bad url '" .. u:gsub("%p", "%%%0") .. "' %(port out of range: 1%.%.65535%)",
        refusal { url = u })
    end
    assert.matches("bad url 'http://h:8x/' %(http:// or https:// with a host%)", refusal { url = "http://h:8x/" })
  end)

  local function raw_wire()
    local _, _, body = http.get(server.url .. "/raw")
    return json.decode(body).raw
  end

  it("refuses framing and hop-by-hop headers: nothing smuggled reaches the pooled connection", function()
    http.post(server.url .. "/reset-stats")
    local smuggle = "abcdeGET /echo?SMUGGLED HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n"
    -- Content-Length last: its smuggled request then answers the first GET below
    local owned = { { "transfer-encoding", "chunked" }, { "Connection", "keep-alive" },
      { "Keep-Alive", "timeout=5" }, { "Upgrade", "h2c" }, { "TE", "trailers" }, { "Trailer", "X-T" },
      { "Proxy-Connection", "keep-alive" }, { "Content-Length", "5" } }
    local errors = {}
    for _, h in ipairs(owned) do
      errors[h[1]] = refusal { url = server.url .. "/echo", method = "POST", headers = { [h[1]] = h[2] },
        body = smuggle } or "(not refused)"
    end
    -- the worker's keep-alive connection still pairs each request with its own answer
    for i = 1, 2 do
      local status, _, body = http.get(server.url .. "/echo?n=" .. i)
      assert.equal(200, status)
      assert.equal("/echo?n=" .. i, json.decode(body).path)
    end
    for name, err in pairs(errors) do
      local framing = name == "Content-Length" or name == "transfer-encoding"
      assert.matches("tycho.http.request: header '" .. name:gsub("%-", "%%-") .. "': "
        .. (framing and "framing header" or "hop%-by%-hop header"), err)
    end
    local raw = raw_wire()
    assert.is_nil(raw:find("SMUGGLED", 1, true))
    assert.is_nil(raw:lower():find("\r\nupgrade:", 1, true))
  end)

  it("refuses a header name that is not a token and a value with a control character, naming the header", function()
    http.post(server.url .. "/reset-stats")
    local cases = {
      { { ["X A"] = "1" }, "header 'X A': header name is not a token" },
      { { ["X-B:evil"] = "1" }, "header 'X%-B:evil': header name is not a token" },
      { { [""] = "1" }, "header '': empty header name" },
      { { ["X-Bad"] = "a\r\nX-Injected: 1" }, "header 'X%-Bad': header value contains a control character %(CR, LF, NUL%.%.%.%)" },
      { { ["X-Nul"] = "a\0b" }, "header 'X%-Nul': header value contains a control character %(CR, LF, NUL%.%.%.%)" },
      { { ["X-Ctl"] = "a\1b" }, "header 'X%-Ctl': header value contains a control character %(CR, LF, NUL%.%.%.%)" },
      { { ["X-Del"] = "a\127b" }, "header 'X%-Del': header value contains a control character %(CR, LF, NUL%.%.%.%)" },
      { { ["X-T"] = {} }, "header 'X%-T': value must be a string or a number, got table" },
      { { ["X-N"] = 0 / 0 }, "header 'X%-N': value must be a finite number" },
      { { [1] = "x" }, "header names must be strings, got number" },
    }
    for _, c in ipairs(cases) do
      local err = refusal { url = server.url .. "/echo", headers = c[1] }
      assert.is_string(err)
      assert.matches("tycho.http.request: " .. c[2], err)
    end
    local raw = raw_wire()
    assert.is_nil(raw:find("X A", 1, true))
    assert.is_nil(raw:find("evil", 1, true))
    assert.is_nil(raw:find("X-Injected", 1, true))
    assert.is_nil(raw:find("X-Nul", 1, true))
  end)

  it("takes up to 64 headers and says so past them, whatever else the request adds", function()
    local function headers(n)
      local t = {}
      for i = 1, n do t["X-H" .. i] = tostring(i) end
      return t
    end
    -- a table body adds Content-Type (and a request's trace context traceparent)
    local status, _, body = http.request { method = "POST", url = server.url .. "/echo", headers = headers(64),
      body = { a = 1 } }
    assert.equal(200, status)
    local seen = {}
    for _, kv in ipairs(json.decode(body).headers) do seen[kv[1]:lower()] = kv[2] end
    assert.equal("64", seen["x-h64"])
    assert.equal("application/json", seen["content-type"])
    for _, n in ipairs { 65, 67 } do
      assert.equal("tycho.http.request: too many headers (max 64)",
        refusal { method = "POST", url = server.url .. "/echo", headers = headers(n), body = { a = 1 } })
    end
  end)

  it("sends no trace context from a call with no request around it (as a timer run)", function()
    local _, _, body = http.get(server.url .. "/echo")
    for _, kv in ipairs(json.decode(body).headers) do
      assert.is_nil(({ traceparent = true, tracestate = true })[kv[1]:lower()])
    end
  end)

  it("sends number header values as written by a response (integers without exponent)", function()
    local _, _, body = http.request { url = server.url .. "/echo",
      headers = { ["X-Int"] = 3, ["X-Big"] = 2 ^ 53, ["X-Frac"] = 0.5 } }
    local seen = {}
    for _, kv in ipairs(json.decode(body).headers) do seen[kv[1]:lower()] = kv[2] end
    assert.equal("3", seen["x-int"])
    assert.equal("9007199254740992", seen["x-big"])
    assert.equal("0.5", seen["x-frac"])
  end)

  it("lets the caller set Host (virtual hosts): curl sends it once, in place of its own", function()
    http.post(server.url .. "/reset-stats")
    local status = http.request { url = server.url .. "/echo?vhost", headers = { Host = "api.internal:8443" } }
    assert.equal(200, status)
    local raw = raw_wire()
    local req = raw:match("GET /echo%?vhost HTTP/1.1\r\n(.-)\r\n\r\n")
    assert.is_string(req)
    local hosts = {}
    for v in ("\r\n" .. req):gmatch("\r\n[Hh][Oo][Ss][Tt]: ([^\r]*)") do hosts[#hosts + 1] = v end
    assert.same({ "api.internal:8443" }, hosts)
  end)

  it("refuses an empty Host, naming it", function()
    local ok, err = pcall(http.request, { url = server.url .. "/echo", headers = { Host = "" } })
    assert.is_false(ok)
    assert.matches("header 'Host': empty", tostring(err), 1, true)
  end)

  it("refuses a Host that is not host[:port], naming it; an IPv6 literal with a port goes out", function()
    for _, bad in ipairs { "a b", "x/y", "h:8o", "[::1", "a:80,b", "user@h" } do
      local ok, err = pcall(http.request, { url = server.url .. "/echo", headers = { Host = bad } })
      assert.is_false(ok, bad)
      assert.matches("header 'Host': not a host[:port]", tostring(err), 1, true)
    end
    assert.equal(200, (http.request { url = server.url .. "/echo", headers = { Host = "[::1]:8443" } }))
  end)

  it("builds a query from a table: each name and value reaches the server as given", function()
    local function path(url, query)
      local status, _, body = http.get(url, { query = query })
      assert.equal(200, status)
      return json.decode(body).path
    end
    -- '&', '+', '%', '#' and a space in a value would change the query written in the url
    assert.equal("/echo?big=1152921504606846976&page=2&q=Tom%20%26%20Jerry%2B50%25%23x&tag=a%20b&tag=%C3%A9",
      path(server.url .. "/echo", { q = "Tom & Jerry+50%#x", page = 2, tag = { "a b", "\195\169" }, big = 2 ^ 60 }))
    assert.equal("/echo?x=1&a=1", path(server.url .. "/echo?x=1", { a = "1" }))
    assert.equal("/echo?a=1", path(server.url .. "/echo?", { a = "1" }))
    assert.equal("/echo?a=1", path(server.url .. "/echo#frag", { a = "1" }))
    assert.equal("/echo", path(server.url .. "/echo", {}))
    local status, _, body = http.post(server.url .. "/echo", "x", { query = { id = "a/b" } })
    assert.equal(200, status)
    assert.equal("/echo?id=a%2Fb", json.decode(body).path)
    local cases = {
      { { a = true }, "query 'a': value must be a string or a number, got boolean" },
      { { a = { x = 1 } }, "query 'a': a table value must be an array (its items repeat the name)" },
      { { a = 0 / 0 }, "query 'a': value must be a finite number, got NaN" },
      { { "x" }, "query names must be strings, got number" },
      { "a=1", "query must be a table of parameters" },
    }
    for _, c in ipairs(cases) do
      assert.equal("tycho.http.request: " .. c[2], refusal { url = server.url .. "/echo", query = c[1] })
    end
  end)

  it("percent-encodes the non-ASCII bytes of a url's path and query: a request line is ASCII", function()
    http.post(server.url .. "/reset-stats")
    local status = http.get(server.url .. "/echo?name=caf\195\169&x=%41")
    assert.equal(200, status)
    assert.matches("GET /echo?name=caf%C3%A9&x=%41 HTTP/1.1\r\n", raw_wire(), 1, true)
  end)

  -- the answer of fake_http's /wire: exactly these bytes, then the connection closes
  local function wire(bytes)
    return http.get(server.url .. "/wire?hex=" .. bytes:gsub(".", function(c)
      return ("%02x"):format(c:byte())
    end))
  end

  it("refuses a response whose Content-Length values differ: its framing cannot be trusted", function()
    local status, err, kind = wire("HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\nokk")
    assert.is_nil(status)
    assert.equal("protocol", kind)
    assert.matches("Content-Length values that differ", err, 1, true)
    local ok, headers, body = wire("HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 2\r\n\r\nok")
    assert.equal(200, ok)
    assert.equal("ok", body)
    assert.same({ "2", "2" }, headers["content-length"])
    -- one field holding a list of the same number is that number (RFC 9110 8.6)
    ok, _, body = wire("HTTP/1.1 200 OK\r\nContent-Length: 2 , 2\r\n\r\nok")
    assert.equal(200, ok)
    assert.equal("ok", body)
  end)

  it("takes a field line starting with HTTP/ as a field, not as a new response that drops the fields before it", function()
    -- it reset the fields: X-A was lost, and with it the first Content-Length,
    -- so a second one that differs framed the body unnoticed
    local status, err, kind = wire("HTTP/1.1 200 OK\r\nContent-Length: 2\r\nHTTP/x: y\r\nContent-Length: 3\r\n\r\nokk")
    assert.is_nil(status)
    assert.equal("protocol", kind)
    assert.matches("Content-Length values that differ", err, 1, true)
    local ok, headers, body = wire("HTTP/1.1 200 OK\r\nX-A: 1\r\nHTTP/2: y\r\nContent-Length: 2\r\n\r\nok")
    assert.equal(200, ok)
    assert.equal("ok", body)
    assert.equal("1", headers["x-a"])
    assert.equal("y", headers["http/2"])
    -- an interim response's block is followed by the final one's: only its fields are kept
    ok, headers, body = wire("HTTP/1.1 100 Continue\r\nX-Early: 1\r\n\r\nHTTP/1.1 200 OK\r\nX-B: 2\r\nContent-Length: 2\r\n\r\nok")
    assert.equal(200, ok)
    assert.equal("ok", body)
    assert.is_nil(headers["x-early"])
    assert.equal("2", headers["x-b"])
    -- a chunked body's trailer field is no new response either
    ok, headers, body = wire("HTTP/1.1 200 OK\r\nX-C: 3\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\nHTTP/x: y\r\n\r\n")
    assert.equal(200, ok)
    assert.equal("ok", body)
    assert.equal("3", headers["x-c"])
  end)

  it("joins an obs-fold line into the value before it, and refuses a folded Content-Length", function()
    local ok, headers = wire("HTTP/1.1 200 OK\r\nX-A: one\r\n two\r\nX-B:\r\n\tthree\r\nContent-Length: 2\r\n\r\nok")
    assert.equal(200, ok)
    assert.equal("one two", headers["x-a"])
    assert.equal("three", headers["x-b"]) -- was " three": a value has no whitespace at its ends
    -- the length was checked as 2, while the field read "2 3"
    local status, err, kind = wire("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n 3\r\n\r\nok")
    assert.is_nil(status)
    assert.equal("protocol", kind)
    assert.matches("Content-Length is not a number", err, 1, true)
  end)

  it("refuses a Content-Length that is not a number, or a list of numbers that differ, never cutting the body", function()
    -- curl read the leading digits: 200 with the body "a", and "ok" for "2, 3"
    local cases = {
      { "1e3", "abc", "is not a number" }, { "3x", "abc", "is not a number" }, { "2,", "ok", "is not a number" },
      { "+2", "ok", "is not a number" }, { "0x2", "ok", "is not a number" },
      { "2, 3", "okk", "values that differ" },
    }
    for _, c in ipairs(cases) do
      local status, err, kind = wire("HTTP/1.1 200 OK\r\nContent-Length: " .. c[1] .. "\r\n\r\n" .. c[2])
      assert.is_nil(status, c[1])
      assert.equal("protocol", kind)
      assert.matches("protocol error: the response", err, 1, true)
      assert.matches(c[3], err, 1, true)
    end
  end)

  it("calls a reply that is not HTTP/1.x a protocol error, not an invalid request", function()
    for _, reply in ipairs { "hello\r\n\r\n", "HTTP/3 200\r\ncontent-length: 2\r\n\r\nok",
      "HTTP/1.1 abc OK\r\n\r\n" } do
      local status, err, kind = wire(reply)
      assert.is_nil(status)
      assert.equal("protocol", kind)
      assert.matches("^GET http://127%.0%.0%.1:%d+/wire%?%.%.%.: protocol error: the reply is not HTTP/1%.x: ", err)
    end
    assert.equal(200, (http.get(server.url .. "/echo")))
  end)

  it("calls a Transfer-Encoding it cannot read a protocol error", function()
    for _, te in ipairs { "foo", "gzip, chunked" } do
      local status, err, kind = wire("HTTP/1.1 200 OK\r\nTransfer-Encoding: " .. te .. "\r\n\r\n2\r\nok\r\n0\r\n\r\n")
      assert.is_nil(status)
      assert.equal("protocol", kind)
      assert.matches("^GET http://127%.0%.0%.1:%d+/wire%?%.%.%.: protocol error: the response's Transfer%-Encoding cannot be read: ", err)
    end
  end)

  it("reads a folded header line as its value's continuation and skips a line without a name", function()
    local status, headers = wire("HTTP/1.1 200 OK\r\nX-F: a\r\n  b: c\r\n\tdone\r\n: nameless\r\n" ..
      "Content-Length: 2\r\n\r\nok")
    assert.equal(200, status)
    assert.equal("a b: c done", headers["x-f"])
    assert.is_nil(headers["  b"])
    assert.is_nil(headers[""])
  end)

  it("takes a field name without the whitespace before its colon, and refuses a framing field sent so", function()
    local status, headers, body = wire("HTTP/1.1 200 OK\r\nX-A : 1\r\nX-B\t: 2\r\nX-A: 3\r\n" ..
      "Content-Length: 2\r\n\r\nok")
    assert.equal(200, status)
    assert.equal("ok", body)
    assert.same({ "1", "3" }, headers["x-a"])
    assert.equal("2", headers["x-b"])
    assert.is_nil(headers["x-a "])
    -- curl does not frame by "Content-Length :": the body would run to the
    -- connection's end, past the length the header gives
    for _, name in ipairs { "Content-Length : 2", "transfer-encoding\t: chunked" } do
      local s, err, kind = wire("HTTP/1.1 200 OK\r\n" .. name .. "\r\n\r\nokzzz")
      assert.is_nil(s, name)
      assert.equal("protocol", kind)
      assert.matches("protocol error: the response has whitespace between a framing field's name and its colon",
        err, 1, true)
    end
    assert.equal(200, (http.get(server.url .. "/echo")))
  end)

  it("asks for no compression and returns an encoded body as it came", function()
    http.post(server.url .. "/reset-stats")
    http.get(server.url .. "/echo?plain")
    assert.is_nil(raw_wire():lower():find("accept-encoding", 1, true))
    -- not gzip data: curl would fail to decode it, were it decoding
    local status, headers, body = wire("HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Length: 3\r\n\r\nabc")
    assert.equal(200, status)
    assert.equal("gzip", headers["content-encoding"])
    assert.equal("abc", body)
  end)

  it("keeps the trailer fields of a chunked body out of the response headers", function()
    local status, headers, body = wire("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTrailer: X-T\r\n" ..
      "Content-Type: text/plain\r\n\r\n5\r\nhello\r\n0\r\nX-T: late\r\nContent-Type: text/html\r\n\r\n")
    assert.equal(200, status)
    assert.equal("hello", body)
    assert.is_nil(headers["x-t"])
    assert.equal("text/plain", headers["content-type"])
  end)

  it("json() takes a Content-Type sent twice that names one media type, and says when they differ", function()
    local twice = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Type: %s\r\n" ..
      "Content-Length: 7\r\n\r\n{\"a\":1}"
    local status, headers, body = wire(twice:format("Application/JSON; charset=utf-8"))
    assert.equal(200, status)
    assert.same({ a = 1 }, http.json(headers, body))
    status, headers, body = wire(twice:format("text/html"))
    assert.equal(200, status)
    local v, err = http.json(headers, body)
    assert.is_nil(v)
    assert.equal("the response has Content-Type values that differ: application/json, text/html", err)
  end)
end)
