-- Runs busted inside the tycho runtime (`tycho spec`). Called as a task by
-- server/lua/commands.c with the command-line arguments; returns the number
-- of passed and failed tests (and an error message when busted itself failed).
return function(args)
  arg = { [0] = "tycho spec" }
  for i, a in ipairs(args) do arg[i] = a end

  local counts = { passed = 0, failed = 0 }
  local make_core = require "busted.core"
  package.loaded["busted.core"] = function(...)
    local busted = make_core(...)
    busted.subscribe({ "test", "end" }, function(_, _, status)
      if status == "success" then
        counts.passed = counts.passed + 1
      elseif status ~= "pending" then
        counts.failed = counts.failed + 1
      end
      return nil, true
    end)
    -- errors outside an `it` (a spec file that fails to load, a failing
    -- before_each) are failures too
    local function outside(element)
      if element.descriptor ~= "it" then counts.failed = counts.failed + 1 end
      return nil, true
    end
    busted.subscribe({ "error" }, outside)
    busted.subscribe({ "failure" }, function(element)
      if element.descriptor ~= "it" then counts.failed = counts.failed + 1 end
      return nil, true
    end)
    return busted
  end

  -- busted ends with os.exit on some paths: turn it into an error we catch
  local real_exit = os.exit
  local EXIT = {}
  os.exit = function(code) error(setmetatable({ code = code }, EXIT), 0) end
  local ok, err = pcall(require "busted.runner", { standalone = false })
  os.exit = real_exit
  package.loaded["busted.core"] = make_core
  io.stdout:flush()
  if not ok and getmetatable(err) == EXIT then
    if err.code ~= 0 and err.code ~= true and counts.failed == 0 then
      return counts.passed, counts.failed, "busted exited with code " .. tostring(err.code)
    end
  elseif not ok and err ~= nil then
    return counts.passed, counts.failed, tostring(err)
  end
  return counts.passed, counts.failed
end
