-- Runs busted inside the tycho runtime (`tycho spec`). Called as a task by
-- server/lua/commands.c with the command-line arguments and { timeout =
-- seconds }; returns the number of passed and failed tests, an error message
-- when busted itself failed, whether the summary line belongs on stderr (the
-- output format is a document that stdout must hold alone), and, when busted
-- ran no suite (a bad option, --version, --list), the exit status: 2 when it
-- refused the command line (it said why on stderr), else 0.
local test_core = require "tycho._test"
-- loaded before busted insulates each spec file (its package.loaded is put
-- back after the file): every file shares this one, and its list of servers
local test = require "tycho.test"
local protect = require "tycho.protect"

-- Output formats whose stdout is one machine-read document.
local DOCUMENT_OUTPUTS = { junit = true, json = true }

-- The blocks the per-test time limit applies to (busted.safe's descriptors).
local TIMED = {
  it = true, finally = true, before_each = true, after_each = true, lazy_setup = true,
  lazy_teardown = true, strict_setup = true, strict_teardown = true,
}

-- The blocks that still run once the run was interrupted (SIGINT, SIGTERM):
-- they clean up (stop servers, remove files) what the tests set up.
local CLEANUP = {
  after_each = true, finally = true, lazy_teardown = true, strict_teardown = true,
}

local function full_name(busted, element)
  local names = {}
  while element and element.descriptor ~= "file" and element.descriptor ~= "suite" do
    if element.name then table.insert(names, 1, element.name) end
    element = busted.context.parent(element)
  end
  return table.concat(names, " ")
end

local function block_label(busted, descriptor, element)
  local name = full_name(busted, element)
  if descriptor == "it" then return ("test '%s'"):format(name) end
  return ("%s of '%s'"):format(descriptor, name)
end

-- This file's source, as debug.getinfo names it.
local THIS_SOURCE = debug.getinfo(1, "S").source

-- get_trace (busted's own getTrace) at level (counted as there: 1 is this
-- function), past the C functions and this file's frames on top of the
-- stack, as busted's skips its own files and luassert's: an error the runner
-- raises on a spec's behalf (os.exit) is located at the spec's line, not here.
local function trace_at(get_trace, element, level, msg)
  local info = debug.getinfo(level, "S")
  while info and (info.what == "C" or info.source == THIS_SOURCE) do
    level = level + 1
    info = debug.getinfo(level, "S")
  end
  local trace = get_trace(element, level + 1, msg) -- one frame deeper: get_trace
  return trace -- not a tail call, which would take this frame off the stack
end

-- The functions standing in for the one a block was declared without
-- (require_functions): their failure is located at the declaration.
local NO_FUNCTION = setmetatable({}, { __mode = "k" })

-- busted takes `it("name")` with no function as the first half of the
-- curried form `it "name" (function() ... end)`, and registers nothing when
-- the second half never comes: the test vanished from the run and its
-- report. It is registered at once, failing with what is missing, at its
-- line; the curried form's function, when it comes, replaces that failure.
-- The same for describe, the hooks and the aliases (pending has a default).
local TESTS = { it = true, spec = true, test = true }
local function require_functions(busted)
  local register = busted.register
  function busted.register(descriptor, ...)
    register(descriptor, ...)
    local publisher = busted.executors[descriptor]
    if descriptor == "file" or descriptor == "pending" or not publisher then return end
    local function declare(name, fn)
      if fn ~= nil or type(name) == "function" then return publisher(name, fn) end
      local label = name ~= nil and ("%s '%s'"):format(descriptor, tostring(name)) or descriptor
      local hint = TESTS[descriptor]
        and (": pending(%q) marks a test still to write"):format(tostring(name)) or ""
      local function missing() error(("%s has no function%s"):format(label, hint), 0) end
      NO_FUNCTION[missing] = true
      publisher(name, missing)
      local children = busted.context.children(busted.context.get())
      local element = children[#children]
      if element and element.run ~= missing then element = nil end -- a filter left it out
      return function(f)
        if element then element.run = f end
      end
    end
    busted.executors[descriptor] = declare
    busted.export(descriptor, declare)
  end
end

-- Each block runs as a task of its own with the --timeout deadline (none for
-- 0) (tycho._test.run_block), so the handler timeout's machinery ends it, and
-- a block that cannot go on (a bare coroutine.yield()) fails alone instead of
-- the run it would otherwise end. busted
-- locates a failure from the stack the error was raised on, which is the
-- block's: the block catches its own error, keeping busted's trace of it, and
-- busted.getTrace hands that trace back when busted asks for it.
local function time_blocks(busted, seconds)
  local get_trace, safe = busted.getTrace, busted.safe
  local traces = setmetatable({}, { __mode = "k" })
  function busted.getTrace(element, level, msg)
    local trace = traces[element]
    traces[element] = nil
    if NO_FUNCTION[element.run] then return element.trace end
    if trace then return trace end
    trace = trace_at(get_trace, element, level + 1, msg) -- one frame deeper: this one
    return trace
  end
  function busted.safe(descriptor, run, element)
    local stopped = test_core.interrupted()
    -- what is left is skipped (busted.execute runs no more children), but
    -- the cleanup of what ran
    if stopped then busted.skipAll = true end
    -- 'it' also names the publishing of a pending test's events: not a block
    if not TIMED[descriptor] or (descriptor == "it" and run ~= element.run) then
      return safe(descriptor, run, element)
    end
    local label = block_label(busted, descriptor, element)
    if stopped and not CLEANUP[descriptor] then
      return safe(descriptor, function()
        traces[element] = element.trace
        error(("%s not run: the run was interrupted by %s"):format(label, stopped), 0)
      end, element)
    end
    local function timed()
      local trace
      local function block()
        -- not a tail call: busted's trace ends at "[C]: in function 'xpcall'".
        -- A memory error goes on as one (protect.xpcall): the block ends with
        -- it, the scheduler collects what the test left (run_block's "error")
        local ok, err = protect.xpcall(run, function(msg, nomem)
          -- a stand-in has no spec frame under it: its declaration is the
          -- place; so for a memory error, whose stack is gone by now
          if NO_FUNCTION[run] or nomem then
            trace = element.trace
            return msg
          end
          -- as busted.safe's own handler does (3), under protect.xpcall's
          -- own handler, which calls this one
          trace = trace_at(get_trace, element, 4, msg)
          return msg
        end)
        return ok, err
      end
      local outcome, ok, err = test_core.run_block(block, seconds, label)
      if outcome == "timeout" then
        traces[element] = element.trace -- where the block was declared
        error(("%s timed out: still running after %g s (tycho spec --timeout)"):format(label,
          seconds), 0)
      elseif outcome == "interrupted" then -- SIGINT, SIGTERM (spec_interrupt.h)
        busted.skipAll = true
        traces[element] = element.trace
        error(("%s %s: the run stops here"):format(label, ok), 0)
      elseif outcome == "error" then -- the memory limit, a bare coroutine.yield()
        traces[element] = element.trace
        error(ok, 0)
      elseif outcome == "nomem_caught" then -- its garbage is collected: the run goes on
        traces[element] = element.trace
        error(("%s met the Lua memory limit (%d allocations refused) and no memory error came "
          .. "out of it: caught as an ordinary error (by a pcall in the spec or a route; "
          .. "tycho.protect.pcall passes one on), or met by LuaJIT's trace compiler (which "
          .. "gives up the trace)"):format(label, ok), 0)
      elseif not ok then
        traces[element] = trace
        error(err, 0)
      end
    end
    return safe(descriptor, timed, element)
  end
end

-- busted reports a spec file that does not load, a path that does not
-- exist and "no test files found" with an empty trace, and the TAP and gtest
-- outputs index its line: their error there ended the whole run (the other
-- files did not run). The place is the message's own file:line, or the file.
local function complete_trace(element, _, message, trace)
  if type(trace) == "table" and trace.currentline == nil then
    local src, line = tostring(message):match "^([^\n]-):(%d+): "
    trace.short_src = trace.short_src or src or element.name or "(no file)"
    trace.currentline = tonumber(line) or 0
  end
  return nil, true
end

-- busted's json output encodes its test records with dkjson, which raises on
-- the function a pending test's record holds (busted 2.1.1): functions
-- become null instead.
local function json_without_functions()
  local ok, dkjson = pcall(require, "dkjson")
  if not ok then return function() end end
  local function skip_functions(_, value)
    if type(value) == "function" then return "null" end
  end
  package.loaded.dkjson = setmetatable({
    encode = function(value, state)
      state = state or {}
      state.exception = state.exception or skip_functions
      return dkjson.encode(value, state)
    end,
  }, { __index = dkjson })
  return function() package.loaded.dkjson = dkjson end
end

return function(args, opts)
  -- busted's --lua re-runs the command line under another interpreter
  -- through a shell: here it ran `<lua> tycho spec ...`, which cannot work,
  -- and lost its status (the run "passed" with 0 tests)
  for _, a in ipairs(args) do
    if a == "--lua" or a:find("^%-%-lua=") then
      io.stderr:write("tycho spec: --lua: specs run in tycho's own LuaJIT, not in another ",
        "interpreter\n")
      return 0, 0, nil, false, 2
    end
  end
  -- nor from a .busted file's lua = ...
  arg = { [0] = "tycho spec", "--ignore-lua" }
  for _, a in ipairs(args) do arg[#arg + 1] = a end

  local counts = { passed = 0, failed = 0 }
  local document, ran = false, false
  local early_errors = {} -- errors before any suite ran (a spec file that fails to load under --list)
  local make_core = require "busted.core"
  package.loaded["busted.core"] = function(...)
    local busted = make_core(...)
    time_blocks(busted, opts.timeout)
    require_functions(busted)
    -- not called under --list: busted's own handler swallows the event
    local function stay_stopped()
      if test_core.interrupted() then busted.skipAll = true end
      return nil, true
    end
    busted.subscribe({ "suite", "start" }, function()
      if not ran then
        -- after busted.runner's handlers, which set skipAll back to
        -- --no-keep-going's choice on every error: an interrupted run stays stopped
        busted.subscribe({ "error" }, stay_stopped)
        busted.subscribe({ "failure" }, stay_stopped)
      end
      ran = true
      return nil, true
    end)
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
    local function outside(element, _, message)
      if element.descriptor ~= "it" then counts.failed = counts.failed + 1 end
      if not ran then early_errors[#early_errors + 1] = tostring(message) end
      -- the output handler itself failed: it cannot be the one to say so
      if element.descriptor == "suite" then
        io.stderr:write("tycho spec: ", tostring(message), "\n")
      end
      return nil, true
    end
    busted.subscribe({ "error" }, outside)
    busted.subscribe({ "failure" }, function(element)
      if element.descriptor ~= "it" then counts.failed = counts.failed + 1 end
      return nil, true
    end)
    return busted
  end
  local loader_name = "busted.modules.output_handler_loader"
  local make_loader = require(loader_name)
  package.loaded[loader_name] = function()
    local load = make_loader()
    return function(busted, output, options)
      document = DOCUMENT_OUTPUTS[output] or false
      local restore = json_without_functions()
      load(busted, output, options)
      restore()
      -- first: ahead of the output handler's own (priority 1 too)
      busted.subscribe({ "error" }, complete_trace, { priority = 1 })
    end
  end

  -- busted ends with os.exit on some paths: turn it into an error we catch.
  -- A spec calling it fails with that error, and the run goes on.
  local real_exit = os.exit
  local EXIT = {
    __tostring = function(e)
      return ("%sos.exit(%s) called: os.exit is not available inside specs"):format(e.where,
        tostring(e.code))
    end,
  }
  os.exit = function(code)
    local caller = debug.getinfo(2, "Sl")
    local where = caller and caller.currentline > 0
      and ("%s:%d: "):format(caller.short_src, caller.currentline) or ""
    error(setmetatable({ code = code, where = where }, EXIT), 0)
  end
  local ok, err = pcall(require "busted.runner", { standalone = false })
  os.exit = real_exit
  -- servers a spec started and did not stop (it failed first) end with the run
  test.stop_servers()
  package.loaded["busted.core"] = make_core
  package.loaded[loader_name] = make_loader
  io.stdout:flush()
  local exited = not ok and getmetatable(err) == EXIT
  if not ran and (ok or exited) then
    -- no suite ran to sum up: busted ended first (a bad option, --version)
    -- or only listed the tests (--list swallows the suite's events)
    -- a spec file that failed to load: busted keeps the error for a summary
    -- that --list never prints, then exits non-zero as for a bad option
    if #early_errors > 0 then
      for _, m in ipairs(early_errors) do io.stderr:write("tycho spec: ", m, "\n") end
      return counts.passed, counts.failed, nil, document, 1
    end
    local refused = exited and err.code ~= 0 and err.code ~= true
    return counts.passed, counts.failed, nil, document, refused and 2 or 0
  end
  if exited then
    if err.code ~= 0 and err.code ~= true and counts.failed == 0 then
      return counts.passed, counts.failed, "busted exited with code " .. tostring(err.code),
        document
    end
  elseif not ok and err ~= nil then
    return counts.passed, counts.failed, tostring(err), document
  end
  return counts.passed, counts.failed, nil, document
end
