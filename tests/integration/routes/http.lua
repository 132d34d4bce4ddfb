-- Routes the HTTP engine's integration tests drive (tests/integration/*.py).
local time = require "tycho.time"

return {
  { "GET", "/json", function() return 200, { ok = true } end },
  { "POST", "/echo", function(req)
      return 200, req.body, { ["Content-Type"] = "application/octet-stream" }
  end },
  { "GET", "/status/:code", function(req)
      local code = tonumber(req.params.code)
      if code == 204 or code == 304 then return code end
      return code, "body of " .. code
  end },
  -- what a route sees of its request (tests/integration/http_request_view.py)
  { "GET", "/request", function(req)
      return 200, { client_ip = req.client_ip, host = req.headers.host }
  end },
  -- how the query decodes (tests/integration/http_conformance.py)
  { "GET", "/query", function(req) return { query = req.query } end },
  -- what a response carries (tests/integration/http_conformance.py)
  { "GET", "/return-nil", function() return nil end },
  { "GET", "/return-nil-headers", function() return nil, { ["X-A"] = "1" } end },
  { "GET", "/return-nil-err", function() return nil, "no such thing" end },
  { "GET", "/no-content/:code", function(req)
      local code = tonumber(req.params.code)
      if req.query_string == "json" then return code, { a = 1 } end
      return code, "body", { ETag = '"x"' }
  end },
  { "GET", "/head", function() return "8 bytes!" end },
  { "HEAD", "/head", function() return 200, nil, { ["X-H"] = "1" } end },
  { "GET", "/head-stated", function() return "8 bytes!" end },
  { "HEAD", "/head-stated", function() return 200, nil, { ["Content-Length"] = 8 } end },
  { "HEAD", "/head-bad-length", function() return 200, nil, { ["Content-Length"] = "-1" } end },
  { "HEAD", "/head-wrong-length", function() return 200, "abc", { ["Content-Length"] = "4" } end },
  { "GET", "/get-length", function() return 200, "x", { ["Content-Length"] = "1" } end },
  -- matching on the normalised path (RFC 3986 6.2.2)
  { "GET", "/users/me", function(req) return { route = req.route, path = req.path } end },
  { "GET", "/users/:id", function(req)
      return { route = req.route, path = req.path, id = req.params.id }
  end },
  { "GET", "/~echo", function(req) return { route = req.route, path = req.path } end },
  -- a large answer: ?n= bytes of "x" (slow readers, send timeout)
  { "GET", "/big", function(req) return 200, string.rep("x", tonumber(req.query.n)) end },
  { "GET", "/sleep/:ms", function(req)
      time.sleep(tonumber(req.params.ms) / 1000)
      return 200, { slept_ms = tonumber(req.params.ms) }
  end },
}
