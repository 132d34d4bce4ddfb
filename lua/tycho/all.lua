-- tycho.all(f1, f2, ...) — runs the functions side by side and returns
-- their first results, in argument order, once every one has ended
-- (docs/routes.md, "Waiting"). Each runs as a task of its own sharing the
-- caller's request: its req, log ids, trace, deadline and memory limit.
-- When one raised, the first (by argument order) of their errors is raised
-- again here, after all have ended; a memory error as a memory error.
local run = require("tycho._all").run
local raise_nomem = require("tycho._protect").raise_nomem
local unpack = unpack

return function(...)
  local ok, v, n = run(...)
  if ok then return unpack(v, 1, n) end
  if n == "nomem" then raise_nomem() end
  error(v, 0)
end
