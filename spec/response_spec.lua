-- Handler return values -> HTTP responses.
local t = require "tycho.test"
local here = debug.getinfo(1, "S").source:match("^@(.*)/[^/]+$") or "spec"
local basic = dofile(here .. "/fixtures/serve.lua")("basic")

describe("handler results", function()
  setup(basic.setup)
  teardown(basic.teardown)

  it("encodes a table body as JSON", function()
    local res = t.get("/users/7")
    assert.equal("application/json", res.headers["content-type"])
    assert.equal('{"id":"7"}', res.raw)
    assert.equal("[1,2,3]", t.get("/array").raw)
    assert.equal('{"items":[]}', t.get("/empty-array").raw)
    assert.equal('{"a":null}', t.get("/null").raw)
  end)

  it("takes json.null alone as a body, as documented: 200 null", function()
    local res = t.get("/null-alone")
    assert.equal(200, res.status)
    assert.equal("null", res.raw)
    assert.equal("application/json", res.headers["content-type"])
    res = t.get("/null-with-headers")
    assert.equal(200, res.status)
    assert.equal("null", res.raw)
    assert.equal("1", res.headers["x-n"])
  end)

  it("sends a string body as text/plain unless a Content-Type is given", function()
    local res = t.get("/")
    assert.equal("root", res.body)
    assert.equal("text/plain; charset=utf-8", res.headers["content-type"])
    res = t.get("/text")
    assert.equal("text/html", res.headers["content-type"])
  end)

  it("uses the returned status; nothing returned is 204", function()
    assert.equal(418, t.get("/status/418").status)
    local res = t.get("/nothing")
    assert.equal(204, res.status)
    assert.equal("", res.raw)
  end)

  it("sets headers: numbers, and repeated headers from arrays", function()
    local res = t.get("/headers")
    assert.equal("42", res.headers["x-number"])
    assert.same({ "a=1", "b=2" }, res.headers["set-cookie"])
  end)

  it("writes a number header value as tycho.json does, and an integer past 2^53 in digits", function()
    local h = t.get("/number-headers").headers
    assert.equal("1152921504606846976", h["x-big"])
    assert.equal("-1152921504606846976", h["x-neg-big"])
    assert.equal("9007199254740991", h["x-exact"])
    assert.equal("1000000000000001", h["x-mid"])
    assert.equal("0.1", h["x-frac"])
    assert.equal("0", h["x-neg-zero"])
    assert.equal("1e+21", h["x-huge"])
  end)

  local function fails(path, message, route)
    t.capture_logs()
    local res = t.get(path)
    local logs = t.logs()
    t.capture_logs(false)
    assert.equal(500, res.status)
    assert.equal("internal error", res.body.error)
    assert.is_nil(res.headers["x-evil"])
    assert.is_nil(res.headers["injected"])
    local line = logs[#logs]
    assert.equal("error", line.level)
    assert.equal("handler error: invalid response", line.msg)
    assert.equal(route or path, line.route)
    assert.equal("GET", line.method) -- the fields of a Lua error's line, all of them
    assert.matches("basic/api.lua:%d+$", line.handler)
    assert.matches(message, line.error)
  end

  it("refuses header values with CR/LF: the handler fails, nothing of it is sent", function()
    fails("/bad-header", "response header 'X%-Evil': header value contains a control character %(CR, LF, NUL%.%.%.%)")
  end)

  it("refuses header values with any other control character but tab (RFC 9110 5.5)", function()
    for _, c in ipairs { 1, 8, 11, 27, 31, 127 } do
      fails("/header-byte/" .. c, "response header 'X%-B': header value contains a control character %(CR, LF, NUL%.%.%.%)", "/header-byte/:code")
    end
    local res = t.get("/header-byte/9")
    assert.equal(200, res.status)
    assert.equal("a\tb", res.headers["x-b"])
  end)

  it("sends header value bytes 0x80..0xFF as they are (RFC 9110 obs-text)", function()
    for _, c in ipairs { 128, 195, 233, 255 } do
      local res = t.get("/header-byte/" .. c)
      assert.equal(200, res.status)
      assert.equal("a" .. string.char(c) .. "b", res.headers["x-b"])
    end
  end)

  it("names a header name holding a NUL or another control byte whole, the byte as \\xNN", function()
    fails("/header-name-nul", "response header 'X%-A\\x00B': header name is not a token %(RFC 9110%)$")
    fails("/set-header/X-A%0D%0AB", "response header 'X%-A\\x0D\\x0AB': header name is not a token", "/set-header/:name")
  end)

  it("refuses header lines past 64 KiB in all (the same header set many times too): clients would refuse them", function()
    local res = t.get("/header-lines/655") -- 65,500 bytes
    assert.equal(200, res.status)
    local v, n = res.headers["x-many"], 0
    for _ in (type(v) == "table" and table.concat(v, ",") or v):gmatch(string.rep("x", 90)) do n = n + 1 end
    assert.equal(655, n)
    fails("/header-lines/656", "response header 'X%-Many': the header lines pass 64 KiB %(65600 bytes with it%)$", "/header-lines/:n")
  end)

  it("refuses framing headers, bad statuses and bad bodies", function()
    fails("/framing-header", "Content%-Length")
    fails("/bad-status", "invalid status 99")
    fails("/bad-body", "response body must be a table, a string or nil, got function")
    fails("/unencodable-body", "response body: cannot encode NaN or infinity %(at %.items%[2%]%.id%)$")
    fails("/string-status", 'response status must be a number, got the string "404"')
  end)

  it("refuses values past the headers: none is dropped unseen", function()
    fails("/status-last", "handler returned 3 values; expected `return body, headers` %(a status comes first%)")
    fails("/four-values", "handler returned 4 values; expected `return status, body, headers`")
  end)

  it("refuses a 1xx status: interim, it cannot end a request", function()
    fails("/status/100", "invalid status 100 %(expected an integer 200..599%)", "/status/:code")
    fails("/status/199", "invalid status 199", "/status/:code")
    assert.equal(200, t.get("/status/200").status)
  end)

  it("names a non-finite status as a header value's: NaN, -inf (not -nan)", function()
    fails("/nan-status", "invalid status NaN %(expected an integer 200..599%)")
    fails("/inf-status", "invalid status %-inf %(expected an integer 200..599%)")
  end)

  it("refuses X-Request-Id (the server's, always req.id) and hop-by-hop headers", function()
    fails("/set-header/X-Request-Id", "header is set by the server", "/set-header/:name")
    for _, name in ipairs { "Keep-Alive", "Upgrade", "TE", "Trailer", "Proxy-Connection" } do
      fails("/set-header/" .. name, "response header '" .. name:gsub("%-", "%%-")
        .. "': hop%-by%-hop header", "/set-header/:name")
    end
    assert.equal("1", t.get("/set-header/X-Other").headers["x-other"])
  end)

  it("refuses non-finite numbers as header values", function()
    fails("/nan-header", "response header 'X%-B': value must be a finite number, got NaN$")
    fails("/inf-header", "response header 'X%-B': value must be a finite number, got %-inf")
  end)

  it("refuses a header table that is not a list of values: nothing of it is dropped silently", function()
    local why = "a table value must be a list of values %(%{ \"a=1\", \"b=2\" %}%), got one with other keys"
    fails("/header-not-list", "response header 'X%-L': " .. why)
    fails("/header-list-extra", "response header 'Set%-Cookie': " .. why)
    local res = t.get("/header-empty-list")
    assert.equal(200, res.status)
    assert.is_nil(res.headers["set-cookie"])
  end)

  it("refuses a second Content-Type, however its name is written", function()
    local why = "': given twice: a response has one media type %(RFC 9110 8%.3%)"
    fails("/two-content-types", "response header '[Cc]ontent%-[Tt]ype" .. why)
    fails("/content-type-list", "response header 'Content%-Type" .. why)
  end)
end)
