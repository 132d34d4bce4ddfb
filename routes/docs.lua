-- GET /openapi.json and GET /docs: the API described (routes/_app/openapi.lua)
-- and a page to read and try it (routes/_app/docs_page.lua), as FastAPI
-- served them for the original app.
local openapi = require "_app.openapi"
local page = require "_app.docs_page"

-- Built once a load: it reads only the configuration, which a reload reads again.
local document = openapi.document()

return {
  { "GET", "/openapi.json", function() return document end },

  { "GET", "/docs", function()
      return 200, page, { ["Content-Type"] = "text/html; charset=utf-8", ["Cache-Control"] = "no-cache" }
  end },
}
