-- tycho.http — outbound HTTP for handlers (docs/routes.md, "Outbound HTTP").
--
--   local http = require "tycho.http"
--   local status, headers, body = http.request {
--     method = "POST", url = "https://api.example.com/v1/things",
--     query = { q = "a & b" },      -- added to the url's query, percent-encoded
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
local options = require "tycho.options"
local protect = require "tycho.protect"

local http = {}

local REQUEST_OPTIONS =
  { "method", "url", "query", "headers", "body", "timeout", "connect_timeout", "max_response_bytes" }

-- REQUEST_OPTIONS but those a shortcut takes as arguments.
local function options_but(...)
  local given, out = {}, {}
  for _, name in ipairs { ... } do given[name] = true end
  for _, name in ipairs(REQUEST_OPTIONS) do
    if not given[name] then out[#out + 1] = name end
  end
  return out
end
local GET_OPTIONS = options_but("url", "method")
local POST_OPTIONS = options_but("url", "method", "body")

function http.request(opts)
  if type(opts) == "string" then opts = { url = opts } end
  if type(opts) ~= "table" then error("tycho.http.request: expected a table of options", 2) end
  options.check(opts, REQUEST_OPTIONS, "tycho.http.request", 2)
  return core.request(opts, "tycho.http.request")
end

-- The request options of a shortcut (name) and the name its errors give
-- (tycho.http.get...): its opts, checked against known, with the fields its
-- arguments give.
local function with(name, opts, known, fields)
  local what = "tycho.http." .. name
  options.check(opts, known, what, 3)
  local o = {}
  for k, v in pairs(opts or {}) do o[k] = v end
  for k, v in pairs(fields) do o[k] = v end
  return o, what
end

function http.get(url, opts)
  return core.request(with("get", opts, GET_OPTIONS, { url = url, method = "GET" }))
end
function http.delete(url, opts)
  return core.request(with("delete", opts, GET_OPTIONS, { url = url, method = "DELETE" }))
end
function http.post(url, body, opts)
  return core.request(with("post", opts, POST_OPTIONS, { url = url, method = "POST", body = body }))
end
function http.put(url, body, opts)
  return core.request(with("put", opts, POST_OPTIONS, { url = url, method = "PUT", body = body }))
end

-- The media type of a Content-Type value: "type/subtype" in lower case,
-- without its parameters (RFC 9110 8.3.1).
local function media_type(value)
  return (value:match("^[ \t]*([^;]-)[ \t]*;") or value:match("^[ \t]*(.-)[ \t]*$")):lower()
end

-- The Content-Type of a response's headers: a field sent several times
-- (an array) is taken when its values name one media type, as a proxy
-- joining two header blocks sends it; nil and why when they differ.
local function content_type(headers)
  local ct = headers and headers["content-type"]
  if type(ct) ~= "table" then return ct end
  for i = 2, #ct do
    if media_type(ct[i]) ~= media_type(ct[1]) then
      return nil, "the response has Content-Type values that differ: " .. table.concat(ct, ", ")
    end
  end
  return ct[1]
end

-- The body decoded when the content type says JSON; else nil. A JSON
-- content type with a body that does not parse (an HTML error page sent as
-- application/json) gives nil and the decode error: a result the caller
-- judges, as a 5xx status is, not an error raised into the handler.
-- Content-Type values that differ give nil and an error saying so.
function http.json(headers, body)
  local ct, err = content_type(headers)
  if err then return nil, err end
  if type(ct) == "string" and media_type(ct):find("json", 1, true) and body and #body > 0 then
    local ok, decoded = protect.pcall(json.decode, body)
    if ok then return decoded end
    return nil, decoded
  end
  return nil
end

return http
