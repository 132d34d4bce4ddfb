-- print() in route code under tycho serve: stdout is the JSON log, so a
-- print is a log line of its own, never text inside another line.
local t = require "tycho.test"
local json = require "tycho.json"
local http = require "tycho.http"
local here = debug.getinfo(1, "S").source:match("^@(.*)/[^/]+$") or "spec"
local folder = dofile(here .. "/fixtures/folder.lua")
local server_log = dofile(here .. "/fixtures/server_log.lua")

describe("print under tycho serve", function()
  it("writes one info log line per call, with the request's ids, and no broken line", function()
    local dir = folder.new { ["p.lua"] = [[
return { ["GET /p/:n"] = function(req)
  print("debug from handler", req.params.n, nil, true, { } ~= nil)
  return "p"
end }
]] }
    local srv = t.serve { routes = dir }
    finally(function()
      srv:stop()
      folder.remove(dir)
    end)
    local N = 300
    for i = 1, N do assert.equal(200, (http.get(srv.url("/p/" .. i)))) end
    local function printed(rec) return rec.msg and rec.msg:find("^debug from handler") end
    local recs, others = server_log.wait(srv, function(recs)
      return #server_log.select(recs, printed) == N
    end)
    assert.is_nil(others[1], "not a JSON log line: " .. tostring(others[1]))
    local prints = server_log.select(recs, printed)
    assert.equal(N, #prints)
    local first = prints[1]
    assert.equal("info", first.level)
    assert.equal("debug from handler\t1\tnil\ttrue\ttrue", first.msg)
    assert.equal("/p/:n", first.route)
    assert.is_string(first.request_id)
  end)

  it("writes log lines from a route file's top level, on a reload's pre-check too", function()
    local dir = folder.new { ["p.lua"] = [[
for i = 1, 200 do print("loading", i, ("x"):rep(40)) end -- more than stdio's 4 KiB buffer
return { ["GET /p"] = function() return "p" end }
]] }
    local srv = t.serve { routes = dir }
    finally(function()
      srv:stop()
      folder.remove(dir)
    end)
    -- the pre-check (a scratch state on a thread of its own) loads it, then the worker
    local status = http.post("http://" .. srv.admin .. "/-/reload", { body = "" })
    assert.equal(200, status)
    local function loading(rec) return rec.msg and rec.msg:find("^loading\t") end
    local recs, others = server_log.wait(srv, function(recs)
      return #server_log.select(recs, loading) >= 600
    end)
    assert.is_nil(others[1], "not a JSON log line: " .. tostring(others[1]))
    -- the start's load, then the reload's pre-check and load
    assert.equal(600, #server_log.select(recs, loading))
  end)

  it("writes io.write and io.stdout:write as log lines, one per call, other files as usual", function()
    local dir = folder.new { ["w.lua"] = [[
return { ["GET /w"] = function(req)
  local path = req.query.path
  assert(io.write("total=", 12, "\n") == true) -- what LuaJIT's write returns
  io.stdout:write("partial, no newline")
  io.write("")
  assert(io.output():write("chained\n") == true)
  io.output():write("second")
  local f = assert(io.open(path, "w"))
  assert(f:write("to a file\n") == true)
  f:close()
  return "w"
end }
]] }
    local srv = t.serve { routes = dir }
    finally(function()
      srv:stop()
      folder.remove(dir)
    end)
    local path = dir .. "/out.txt"
    assert.equal(200, (http.get(srv.url("/w?path=" .. path))))
    local function written(rec) return rec.route == "/w" and rec.msg ~= "access" end
    local recs, others = server_log.wait(srv, function(recs)
      return #server_log.select(recs, written) >= 4
    end)
    assert.is_nil(others[1], "not a JSON log line: " .. tostring(others[1]))
    local msgs = server_log.select(recs, written)
    local got = {}
    for i, rec in ipairs(msgs) do
      got[i] = rec.msg
      assert.equal("info", rec.level)
      assert.is_string(rec.request_id)
    end
    assert.same({ "total=12", "partial, no newline", "chained", "second" }, got)
    local f = assert(io.open(path))
    assert.equal("to a file\n", f:read "*a")
    f:close()
  end)

  it("refuses io.output(file) and io.input(file) in a handler: the next request's io.write stays a log line", function()
    local dir = folder.new { ["o.lua"] = [[
local top = io.input() -- without a file: the current one, in a handler too
return {
  ["GET /redirect"] = function(req)
    io.output(req.query.path) -- every later io.write of the worker would go there
    io.write("first request")
    return "redirected"
  end,
  ["GET /caught"] = function(req)
    local ok, err = pcall(function() io.input(req.query.path) end)
    return { ok = ok, err = err, same = io.output() == io.stdout and io.input() == top }
  end,
  ["GET /write"] = function()
    io.write("second request")
    return "written"
  end,
}
]] }
    local srv = t.serve { routes = dir, workers = 1 }
    finally(function()
      srv:stop()
      folder.remove(dir)
    end)
    local path = dir .. "/redirected.txt"
    assert.equal(500, (http.get(srv.url("/redirect?path=" .. path))))
    local status, _, body = http.get(srv.url("/caught?path=" .. path))
    assert.equal(200, status)
    local caught = json.decode(body)
    assert.is_false(caught.ok)
    assert.matches("/o%.lua:9: io%.input%(file%) cannot run in a handler, timer or consumer: it changes "
      .. "the default file of every request this worker serves; read a file of your own", caught.err)
    assert.is_true(caught.same)
    assert.equal(200, (http.get(srv.url "/write")))
    local function is_refused(rec) return rec.route == "/redirect" and rec.error end
    local function is_second(rec) return rec.route == "/write" and rec.msg == "second request" end
    local recs = server_log.wait(srv, function(recs)
      return server_log.select(recs, is_refused)[1] and server_log.select(recs, is_second)[1]
    end)
    local refused = server_log.select(recs, is_refused)[1]
    local second = server_log.select(recs, is_second)[1]
    assert.is_table(refused)
    assert.matches("o%.lua:4: io%.output%(file%) cannot run in a handler, timer or consumer", refused.error)
    assert.matches("write to a file of your own", refused.error)
    assert.is_table(second, "the second request's io.write is not a log line")
    assert.equal("info", second.level)
    assert.is_nil(io.open(path), "io.output opened the first request's file")
  end)
end)
