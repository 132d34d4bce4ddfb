-- tycho.test — helpers for specs run by `tycho spec`.
--
--   local t = require "tycho.test"
--   local res = t.request("GET", "/get-data/42", { headers = {...}, body = "..." | table })
--   res.status, res.headers["content-type"], res.body (decoded JSON, or the
--   string), res.raw (the body as serve sends it: "" for HEAD, 204, 304),
--   res.route (the matched pattern); opts: headers, body, peer_ip, request_id
--   (any other is an error; without request_id the request gets the id tycho
--   serve would give: a valid X-Request-Id header, else 32 hex digits). A request line the server refuses (a fragment,
--   a space or a raw non-ASCII byte in the target, a lower-case method) gets
--   the server's answer: 400 or 501 and its error body, no route runs.
--   t.get / t.post / t.put / t.patch / t.delete (path, opts)
--   local p = t.start("GET", "/slow"); ...; local res = p:wait()   (or p:cancel())
--
--   local srv = t.serve { routes = "spec/fixtures/routes", workers = 1 }
--   srv.port, srv.url "/path", srv:stop()
local core = require "tycho._test"
local json = require "tycho.json"
local options = require "tycho.options"

local M = {}

local HEADERS_MT = {
  __index = function(h, k)
    if type(k) == "string" then return rawget(h, k:lower()) end
  end,
}

local function build(opts)
  opts = opts or {}
  -- a local client unless told otherwise, as a real request always has a peer
  local o = { headers = {}, peer_ip = opts.peer_ip or "127.0.0.1", request_id = opts.request_id }
  for k, v in pairs(opts.headers or {}) do o.headers[k] = v end
  local body = opts.body
  if type(body) == "table" then
    body = json.encode(body)
    local has_ct = false
    for k in pairs(o.headers) do
      if k:lower() == "content-type" then has_ct = true end
    end
    if not has_ct then o.headers["Content-Type"] = "application/json" end
  end
  o.body = body
  return o
end

local function response(status, headers, raw, route)
  setmetatable(headers, HEADERS_MT)
  local res = { status = status, headers = headers, raw = raw, body = raw,
                route = route ~= "" and route or nil }
  local ct = headers["content-type"]
  if ct and ct:find("json", 1, true) and #raw > 0 then
    local ok, decoded = pcall(json.decode, raw)
    if ok then res.body = decoded end
  end
  return res
end

local Pending = {}
Pending.__index = Pending
-- Waits (yielding: other requests and timers run) for the response.
function Pending:wait() return response(core.wait(self.handle)) end
-- Drops the request as a client disconnect does; true if it was still running.
function Pending:cancel() return core.cancel(self.handle) end
-- true once the response is there, or the request was cancelled.
function Pending:done() return core.done(self.handle) end

local REQUEST_OPTIONS = { "headers", "body", "peer_ip", "request_id" }

-- Starts a request; a misspelt option is an error at level (error's: the
-- caller of the function calling start is 2).
local function start(method, target, opts, level)
  options.check(opts, REQUEST_OPTIONS, "tycho.test.request", level + 1)
  return setmetatable({ handle = core.start(method, target, build(opts)) }, Pending)
end

-- Starts a request without waiting: the handler runs until it first waits.
-- Use it for concurrency, in-flight reloads and disconnect tests.
function M.start(method, target, opts)
  local p = start(method, target, opts, 2)
  return p
end

function M.request(method, target, opts)
  local p = start(method, target, opts, 2)
  return p:wait()
end

for _, m in ipairs { "get", "post", "put", "patch", "delete", "head", "options" } do
  M[m] = function(target, opts)
    local p = start(m:upper(), target, opts, 2)
    return p:wait()
  end
end

-- Loads the routes again into a new generation (what a hot reload does);
-- returns the new generation number, or nil and the error.
M.reload = core.reload
-- The runtime's counters: generation, memory, inflight, reloads, handler_errors... (docs/routes.md, tycho.test)
M.stats = core.stats
-- The path of the running tycho binary.
M.exe = core.exe
-- Serves another routes folder from now on (a reload); returns the generation
-- or nil, err. M.routes_dir() is the folder in use.
M.use_routes = core.use_routes
M.routes_dir = core.routes_dir
-- Changes limits for the following requests:
-- { handler_timeout = seconds, memory_limit = bytes, trusted_proxies = "10.0.0.0/8,..." }
M.set_limits = core.set_limits
-- Captures the JSON log lines written from now on; M.logs() decodes them.
function M.capture_logs(on) core.capture_logs(on ~= false) end
function M.logs()
  local out = {}
  for line in core.logs():gmatch "[^\n]+" do
    local ok, rec = pcall(json.decode, line)
    out[#out + 1] = ok and rec or line
  end
  return out
end
-- The spans finished since the last call (server spans of in-process requests,
-- tycho.trace.span children...), oldest first, then forgotten: tables with
-- name, kind, trace_id, span_id, parent_span_id, parent_is_remote, sampled,
-- trace_state, status, status_message, start, duration, attributes, events.
M.spans = core.spans

-- s as one word for sh: in single quotes nothing expands ($, `, \), and
-- a ' inside becomes '\''.
local function sh_quote(s)
  s = tostring(s)
  if s:find("\0", 1, true) then
    error("tycho.test.serve: an argument or env value holds a NUL byte: " .. ("%q"):format(s), 4)
  end
  return "'" .. s:gsub("'", "'\\''") .. "'"
end

-- The sh command starting exe with args and env in the background, its
-- output to out; it prints the process id (`env` execs exe: the same id).
local function serve_command(exe, args, env, out)
  local words = { "env" }
  for k, v in pairs(env) do
    if type(k) ~= "string" or not k:match "^[%a_][%w_]*$" then
      error(("tycho.test.serve: env name %s is not a variable name"):format(tostring(k)), 3)
    end
    words[#words + 1] = sh_quote(k .. "=" .. tostring(v))
  end
  words[#words + 1] = sh_quote(exe)
  for _, a in ipairs(args) do words[#words + 1] = sh_quote(a) end
  return ("%s > %s 2>&1 & echo $!"):format(table.concat(words, " "), sh_quote(out))
end

-- true while process pid runs (a zombie has ended: nobody may reap it).
local function running(pid)
  local f = io.open(("/proc/%d/stat"):format(pid))
  if not f then return false end
  local stat = f:read "*l" or ""
  f:close()
  local state = stat:match "^.*%) (%a)"
  return state ~= nil and state ~= "Z" and state ~= "X"
end

local function read_all(path)
  local f = io.open(path)
  local text = f and f:read "*a" or ""
  if f then f:close() end
  return text
end

-- The "listening" record in the server's output so far, or nil.
local function listening(text)
  for line in text:gmatch "[^\n]+" do
    if line:find('"listening"', 1, true) then
      local ok, rec = pcall(json.decode, line)
      if ok and type(rec) == "table" and rec.public then return rec end
    end
  end
end

-- The log level the server would run at when it is above info (the
-- "listening" line serve waits for is an info line), with where it came
-- from, or nil: the last --log-level of args (a flag wins), else
-- TYCHO_LOG_LEVEL of env, else of this process (the server inherits it).
local function quiet_level(args, env)
  local level, from
  for i, a in ipairs(args) do
    local v = a:match "^%-%-log%-level=(.*)$"
    if a == "--log-level" then v = args[i + 1] end
    if v then level, from = v, "--log-level " end
  end
  if not level then
    level = env.TYCHO_LOG_LEVEL
    if level == nil then level = os.getenv "TYCHO_LOG_LEVEL" end
    from = "TYCHO_LOG_LEVEL="
  end
  level = tostring(level or ""):match "^%s*(.-)%s*$":lower()
  if level == "warn" or level == "error" then return from .. level end
end

-- Starts `tycho serve` on free loopback ports for end-to-end specs. Waits (on
-- the loop: other requests keep running) until it prints its "listening"
-- line; raises with its output if it exits first or the timeout passes.
local SERVE_OPTIONS = { "routes", "workers", "env", "args", "timeout", "exe" }

-- The servers serve started that were not stopped yet (keys).
local live = {}

function M.serve(opts)
  options.check(opts, SERVE_OPTIONS, "tycho.test.serve", 2)
  opts = opts or {}
  local time = require "tycho.time"
  local tmp = os.tmpname()
  local args = {
    "serve", "--listen", "127.0.0.1:0", "--admin-listen", "127.0.0.1:0",
    "--routes", opts.routes or "routes", "--workers", tostring(opts.workers or 1),
  }
  -- its own local-backend data (opts.args may name another): a data
  -- directory serves one tycho at a time, and this spec run holds TYCHO_DATA_DIR
  local data = tmp .. ".data"
  args[#args + 1] = "--data-dir=" .. data
  for _, a in ipairs(opts.args or {}) do args[#args + 1] = a end
  local quiet = quiet_level(opts.args or {}, opts.env or {})
  if quiet then
    error(("tycho.test.serve: %s leaves out the server's 'listening' line (level info), which "
      .. "tells serve its ports; serve it at info or debug (and pick out the lines you need by "
      .. "their level)"):format(quiet), 2)
  end
  local p = assert(io.popen(serve_command(opts.exe or core.exe(), args, opts.env or {}, tmp)))
  local pid = tonumber(p:read "*l")
  p:close()
  if not pid then error("tycho.test.serve: sh did not start the server (no process id)", 2) end
  local srv = { pid = pid, log = tmp }
  -- Ends the server (TERM, then KILL after 10 s) and removes its files.
  -- Runs to the end again if a first call was cut short (an interrupted run).
  local function finish(signal)
    if srv.stopped then return end
    os.execute(("kill -%s %d 2>/dev/null"):format(signal, pid))
    local until_ = time.monotonic() + 10
    while time.monotonic() < until_ and running(pid) do time.sleep(0.05) end
    if running(pid) then os.execute(("kill -KILL %d 2>/dev/null"):format(pid)) end
    local out = read_all(tmp)
    os.remove(tmp)
    os.execute("rm -rf " .. sh_quote(data))
    srv.stopped = true
    live[srv] = nil
    core.track_server(pid, false)
    return out
  end
  srv.stop = function() finish "TERM" end
  -- live from now on, not once it listens: a run interrupted while this
  -- waits stops it too (stop_servers; a second signal kills it from C)
  live[srv] = true
  core.track_server(pid, true)
  local deadline = time.monotonic() + (opts.timeout or 10)
  local failure = "no 'listening' line within the timeout"
  while time.monotonic() < deadline do
    local exited = not running(pid) -- checked first: its last lines are then in the file
    local rec = listening(read_all(tmp))
    if rec then
      srv.public, srv.admin = rec.public, rec.admin
      srv.port = tonumber(rec.public:match ":(%d+)$")
      srv.admin_port = rec.admin and tonumber(rec.admin:match ":(%d+)$")
      srv.url = function(path) return "http://" .. srv.public .. (path or "/") end
      return srv
    end
    if exited then
      failure = "the server exited before listening"
      break
    end
    time.sleep(0.05)
  end
  error(("tycho.test.serve: %s; output:\n%s"):format(failure, finish "KILL"), 2)
end

-- Stops every server serve started that is still running, and removes its
-- files: `tycho spec` calls it when the run ends, for the specs that failed
-- (or never meant to stop them) before their srv:stop().
function M.stop_servers()
  for srv in pairs(live) do srv.stop() end
end

return M
