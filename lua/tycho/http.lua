-- tycho.http — outbound HTTP for handlers (docs/routes.md, "Outbound HTTP").
--
--   local http = require "tycho.http"
--   local status, headers, body = http.request {
--     method = "POST", url = "https://api.example.com/v1/things",
--     headers = { ["Authorization"] = "Bearer ..." },
--     body = { name = "x" },        -- a table is sent as JSON
--     timeout = 5,                  -- seconds for the whole exchange (default 30)
--   }
--   if not status then             -- transport error: headers is the message,
--     return 502, { error = headers } -- body the kind ("timeout", "connect", ...)
--   end
--
-- The request yields: the worker serves other requests meanwhile. Any HTTP
-- status (even 5xx) is a result, not an error. Calls carry the trace context
-- (traceparent, tracestate; X-Amzn-Trace-Id to AWS hosts), record a CLIENT
-- span and tycho_http_client_request_duration_seconds{host,status_class}.
local core = require "tycho._http"
local json = require "tycho.json"

local http = {}

function http.request(opts)
  if type(opts) == "string" then opts = { url = opts } end
  if type(opts) ~= "table" then error("tycho.http.request: expected a table of options", 2) end
  return core.request(opts)
end

local function with(opts, fields)
  local o = {}
  for k, v in pairs(opts or {}) do o[k] = v end
  for k, v in pairs(fields) do o[k] = v end
  return o
end

function http.get(url, opts) return core.request(with(opts, { url = url, method = "GET" })) end
function http.delete(url, opts) return core.request(with(opts, { url = url, method = "DELETE" })) end
function http.post(url, body, opts)
  return core.request(with(opts, { url = url, method = "POST", body = body }))
end
function http.put(url, body, opts)
  return core.request(with(opts, { url = url, method = "PUT", body = body }))
end

-- Decodes a JSON response body when the content type says JSON; else nil.
function http.json(headers, body)
  local ct = headers and headers["content-type"]
  if type(ct) == "string" and ct:find("json", 1, true) and body and #body > 0 then
    return json.decode(body)
  end
  return nil
end

return http
