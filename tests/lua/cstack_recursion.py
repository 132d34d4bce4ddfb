#!/usr/bin/env python3
"""Recursion through functions written in C (docs/routes.md, Limits): each
Lua function called back from C (a string.gsub replacement, a table.sort
comparator, a coroutine resumed, a __tostring print or tycho.log calls, a
tycho.all function) nests on the worker thread's C stack, which LuaJIT does
not check: one such recursion that never ends ran the thread out of stack
and the whole process died of SIGSEGV, every worker and every request in
flight with it. Each of these routes must answer 500 with a `handler error`
line naming the route, the function and the line of the call, while
another client's requests keep being answered, and the server must still
run afterwards. So must a route file saved with such a recursion at its
top level: the reload's pre-check (a thread of its own) died the same way,
taking the server with it; now the reload fails naming the file and line,
and the previous routes keep serving. The server runs with a 1 MiB stack
limit (prlimit)."""
import os
import shutil
import signal
import sys
import tempfile
import threading

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import tycho  # noqa: E402
from tycho import check  # noqa: E402

# (path, what the error names, the text of the line that recurses in ROUTES)
CASES = [
    ("/gsub", "string.gsub", "s:gsub"),
    ("/sort", "table.sort", "table.sort("),
    ("/wrap", "a coroutine.wrap function", "coroutine.wrap(r)"),
    ("/resume", "coroutine.resume", "coroutine.resume("),
    ("/print", "print", "mt.__tostring = function() print"),
    ("/all", "tycho.all", "tycho.all(r)"),
]

ROUTES = '''local tycho = require "tycho"
local log = require "tycho.log"
return {
  ["GET /gsub"] = function()
    local function r(s) return (s:gsub(".", r)) end
    return r("a")
  end,
  ["GET /sort"] = function()
    local function r() table.sort({ 2, 1 }, function(a, b) r() return a < b end) end
    r()
  end,
  ["GET /wrap"] = function()
    local function r() return coroutine.wrap(r)() end
    return r()
  end,
  ["GET /resume"] = function()
    local function r() local ok, err = coroutine.resume(coroutine.create(r)) error(err, 0) end
    r()
  end,
  ["GET /print"] = function()
    local mt = {}
    mt.__tostring = function() print(setmetatable({}, mt)) return "" end
    print(setmetatable({}, mt))
  end,
  ["GET /all"] = function()
    local function r() local v = tycho.all(r) return v end
    return r()
  end,
  ["GET /log"] = function()
    local mt = {}
    mt.__tostring = function() log.info(setmetatable({}, mt)) return "inner" end
    log.info(setmetatable({}, mt))
    return "logged"
  end,
  ["GET /ok"] = function() return "ok" end,
}
'''


# a route file whose top level recurses: what a reload's pre-check runs
RECURSING_FILE = 'local function r(s) return (s:gsub(".", r)) end r("a")\nreturn {}\n'


def main():
    tmp = tempfile.mkdtemp(prefix="tycho-cstack-")
    try:
        with open(os.path.join(tmp, "r.lua"), "w") as f:
            f.write(ROUTES)
        # a 1 MiB stack, as a container whose stack limit is small gives its
        # threads (libuv sizes them by RLIMIT_STACK): table.sort's recursion
        # then runs out of C stack before it meets LuaJIT's Lua stack limit
        with tycho.Server(workers=2, routes=tmp, wrapper=("prlimit", "--stack=1048576", "--")) as srv:
            stop = threading.Event()
            answered = []

            def other_client():  # requests of another client meanwhile
                while not stop.is_set():
                    r = tycho.request(srv.public, "GET", "/ok", timeout=10)
                    answered.append(r.status)
            t, out = tycho.in_thread(other_client)
            try:
                for path, what, text in CASES:
                    line = [i for i, l in enumerate(ROUTES.splitlines(), 1) if text in l][0]
                    r = tycho.request(srv.public, "GET", path, timeout=30 * tycho.SLOW)
                    check(r.status == 500, "GET %s: %d %r, want 500" % (path, r.status, r.body))
                    rec = srv.wait_log(lambda x: x.get("msg") == "handler error" and
                                       x.get("route") == path, 5 * tycho.SLOW)
                    check(rec is not None, "GET %s: no handler error line" % path)
                    err = rec.get("error", "")
                    want = "r.lua:%d: %s: C stack overflow" % (line, what)
                    if path in ("/resume", "/wrap"):
                        # the innermost text as it is: error(err, 0) re-raises it, and
                        # a coroutine.wrap function's caller (a tail call) has no line
                        want = "%s: C stack overflow" % what
                    check(want in err, "GET %s: error %r does not say %r" % (path, err, want))
                    print("%s: 500, %s" % (path, err[:100]))
                # tycho.log's __tostring calling tycho.log: the innermost call's
                # message cannot be read; the calls themselves go on
                r = tycho.request(srv.public, "GET", "/log", timeout=30 * tycho.SLOW)
                check(r.status == 200 and r.body == b"logged", "GET /log: %d %r" % (r.status, r.body))
                rec = srv.wait_log(lambda x: x.get("route") == "/log" and
                                   x.get("msg") == "(error object is a table value)", 5 * tycho.SLOW)
                check(rec is not None, "GET /log: no line with the innermost message unread")
                print("/log: 200, the innermost message read as an error object")
            finally:
                stop.set()
                t.join(30)
            check("e" not in out, "the other client failed: %r" % out.get("e"))
            check(answered and all(s == 200 for s in answered),
                  "the other client's requests: %r" % sorted(set(answered)))
            check(srv.proc.poll() is None, "the server died: %r" % srv.stderr[-5:])
            print("another client's %d requests meanwhile: all 200" % len(answered))

            with open(os.path.join(tmp, "b.lua"), "w") as f:
                f.write(RECURSING_FILE)
            srv.signal(signal.SIGHUP)
            rec = srv.wait_log(lambda x: x.get("msg", "").startswith("reload failed"),
                               10 * tycho.SLOW)
            check(rec is not None, "no reload failure line: %r" % srv.stderr[-5:])
            want = "b.lua:1: string.gsub: C stack overflow"
            check(want in rec.get("error", ""), "reload error %r does not say %r"
                  % (rec.get("error"), want))
            r = tycho.request(srv.public, "GET", "/ok")
            check(r.status == 200, "GET /ok after the failed reload: %d" % r.status)
            print("a route file recursing at its top level: reload failed, %s"
                  % rec["error"][-120:])
            check(srv.stop() == 0, "clean exit")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    tycho.run_main(main)
