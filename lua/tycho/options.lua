-- tycho.options — the one check of an options table against the names a
-- function knows, so that a misspelt option (timout = 1) fails instead of
-- being ignored. tycho.http, tycho.test and tycho.aws (sqs, dynamodb) use it.
--
--   local options = require "tycho.options"
--   options.check(opts, { "headers", "timeout" }, "tycho.http.request", 2)
--   local problem = options.problem(opts, known)   -- or nil
local M = {}

-- What is wrong with opts, or nil: nil passes; anything but a table, or a
-- key that is not in the array known, is named ("unknown option 'timout'
-- (url, timeout)"; "(it takes none)" when known is empty).
function M.problem(opts, known)
  if opts == nil then return nil end
  if type(opts) ~= "table" then return ("options must be a table (got %s)"):format(type(opts)) end
  for k in pairs(opts) do
    local found = false
    for _, name in ipairs(known) do found = found or k == name end
    if not found then
      local names = #known > 0 and table.concat(known, ", ") or "it takes none"
      return ("unknown option '%s' (%s)"):format(tostring(k), names)
    end
  end
  return nil
end

-- Raises "<what>: <problem>" when opts has one, at level (as error's: 1 is
-- the function calling check, 2 its caller...).
function M.check(opts, known, what, level)
  local problem = M.problem(opts, known)
  if problem then error(what .. ": " .. problem, (level or 1) + 1) end
end

return M
