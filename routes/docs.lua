-- GET /openapi.json and GET /docs: the API described (routes/_app/openapi.lua)
-- and a page to read and try it (routes/_app/docs_page.lua: the page, its
-- script and its style sheet), as FastAPI served them for the original app.
local openapi = require "_app.openapi"
local page = require "_app.docs_page"

-- Built once a load: it reads only the configuration, which a reload reads again.
local document = openapi.document()

-- The page may load its own script and style sheet and fetch from its own
-- origin, nothing else: no inline script, no other origin, no framing.
local PAGE_POLICY = table.concat({
  "default-src 'none'", "script-src 'self'", "style-src 'self'", "connect-src 'self'",
  "form-action 'none'", "base-uri 'none'", "frame-ancestors 'none'",
}, "; ")

-- A static part of the page, as content_type.
local function asset(body, content_type, extra)
  local headers = { ["Content-Type"] = content_type, ["Cache-Control"] = "no-cache",
    ["X-Content-Type-Options"] = "nosniff" }
  for k, v in pairs(extra or {}) do headers[k] = v end
  return function() return 200, body, headers end
end

return {
  { "GET", "/openapi.json", function() return document end },
  { "GET", "/docs", asset(page.html, "text/html; charset=utf-8",
      { ["Content-Security-Policy"] = PAGE_POLICY }) },
  { "GET", "/docs/app.js", asset(page.script, "text/javascript; charset=utf-8") },
  { "GET", "/docs/app.css", asset(page.style, "text/css; charset=utf-8") },
}
