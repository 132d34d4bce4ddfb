-- The route bench/http_engine.sh measures: the same fixed answer as
-- bench/openresty/nginx.conf ({"ok":true}, application/json, Content-Length).
return {
  { "GET", "/json", function() return 200, { ok = true } end },
}
