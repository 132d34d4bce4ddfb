#!/usr/bin/env python3
"""A route file whose load never ends (docs/routes.md, Hot reload): the load
fails at TYCHO_LOAD_TIMEOUT with an error naming the file — for a loop the
interpreter runs and for one the JIT would compile — POST /-/reload answers,
a later good edit reloads, `tycho check` fails the same way, and a SIGTERM
that arrives while such a load runs still drains and exits 0 within the
drain timeout."""
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import tycho  # noqa: E402
from tycho import check  # noqa: E402

GOOD = 'return { ["GET /a"] = function() return "a" end }\n'
LOOPS = {
    "interpreted": "while true do os.clock() end\nreturn {}\n",
    "compiled": "while true do end\nreturn {}\n",  # a trace the hook cannot reach
}


def write(d, name, text):
    with open(os.path.join(d, name), "w") as f:
        f.write(text)


def reload(srv, timeout):
    r = tycho.request(srv.admin, method="POST", path="/-/reload", timeout=timeout)
    return r.status, json.loads(r.body)


def status(srv):
    return json.loads(tycho.request(srv.admin, path="/-/status").body)


def deadline_fails_the_load(d):
    srv = tycho.Server(workers=2, routes=d, env={"TYCHO_LOAD_TIMEOUT": "1s"})
    try:
        for kind, text in LOOPS.items():
            write(d, "busy.lua", text)
            t0 = time.time()
            code, body = reload(srv, 10 * tycho.SLOW)
            took = time.time() - t0
            print("  %s loop: %d %s after %.1fs" % (kind, code, body, took))
            check(code == 422, "%s loop: reload answered %d %r" % (kind, code, body))
            check(body["error"].endswith("busy.lua: loading took longer than 1 s (TYCHO_LOAD_TIMEOUT)"),
                  "%s loop: error %r" % (kind, body["error"]))
            st = status(srv)
            check(st["generation"] == 1 and st["worker_generations"] == [1, 1],
                  "%s loop: status %r" % (kind, st))
            check("loading took longer" in (st["last_error"] or ""), "last_error %r" % st["last_error"])
        check(tycho.request(srv.public, path="/a").status == 200, "generation 1 no longer serves")
        write(d, "busy.lua", 'return { ["GET /b"] = function() return "b" end }\n')
        code, body = reload(srv, 10 * tycho.SLOW)
        check(code == 200 and body["generation"] == 2, "the good edit: %d %r" % (code, body))
        check(tycho.request(srv.public, path="/b").status == 200, "the good edit is not served")
        st = status(srv)
        check(st["worker_generations"] == [2, 2] and st["last_error"] is None, "status %r" % st)
        check(srv.stop() == 0, "exit code not 0")
    finally:
        srv.kill()


def check_command_fails(d):
    write(d, "busy.lua", LOOPS["compiled"])
    env = dict(os.environ, TYCHO_LOAD_TIMEOUT="1")
    t0 = time.time()
    try:
        p = subprocess.run([tycho.BIN, "check", d], capture_output=True, env=env,
                           timeout=10 * tycho.SLOW)
    except subprocess.TimeoutExpired:
        raise tycho.Failure("tycho check did not end")
    err = p.stderr.decode()
    print("  tycho check: rc %d after %.1fs: %s" % (p.returncode, time.time() - t0, err.strip()))
    check(p.returncode != 0, "tycho check: rc 0")
    check("busy.lua: loading took longer than 1 s" in err, "tycho check said %r" % err)


def sigterm_during_a_stuck_load(d):
    write(d, "busy.lua", GOOD.replace("/a", "/c"))
    srv = tycho.Server(workers=2, routes=d, env={"TYCHO_LOAD_TIMEOUT": "60s"},
                       args=("--drain-timeout", "3s"))
    try:
        write(d, "busy.lua", LOOPS["compiled"])
        def reload_until_shutdown():
            try:
                reload(srv, 30)
            except (OSError, tycho.Failure):  # the shutdown closes the connection
                pass

        threading.Thread(target=reload_until_shutdown, daemon=True).start()
        time.sleep(0.5)  # the check is in the loop now
        check(status(srv)["generation"] == 1, "status does not answer during the load")
        t0 = time.time()
        srv.signal(signal.SIGTERM)
        try:
            rc = srv.proc.wait(5 * tycho.SLOW)
        except subprocess.TimeoutExpired:
            raise tycho.Failure("SIGTERM during a stuck load: no exit within 5 s")
        print("  SIGTERM during the load: exit %d after %.1fs" % (rc, time.time() - t0))
        check(rc == 0, "exit code %d" % rc)
        check(srv.wait_log(lambda r: r.get("msg") == "stopped", 2) is not None, "no 'stopped' line")
    finally:
        srv.kill()


def main():
    d = tempfile.mkdtemp(prefix="tycho-deadline-")
    try:
        write(d, "a.lua", GOOD)
        deadline_fails_the_load(d)
        check_command_fails(d)
        sigterm_during_a_stuck_load(d)
    finally:
        shutil.rmtree(d, ignore_errors=True)


if __name__ == "__main__":
    tycho.run_main(main)
