-- The HEAD route of a GET route that does something (receives and deletes
-- messages, saves an item): without one, a HEAD runs the GET route (the
-- router's fallback) and does all of it, then the server drops the body:
-- messages deleted that nobody sees. HEAD is safe (RFC 9110 9.3.2).
local head = {}

-- The GET's status and type, doing nothing; with no body, no Content-Length
-- is announced (docs/routes.md, "HEAD").
function head.nothing_done()
  return 200, nil, { ["Content-Type"] = "application/json" }
end

return head
