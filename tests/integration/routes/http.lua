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
  { "GET", "/sleep/:ms", function(req)
      time.sleep(tonumber(req.params.ms) / 1000)
      return 200, { slept_ms = tonumber(req.params.ms) }
  end },
}
