#!/usr/bin/env python3
"""A handler stuck in a loop the JIT compiled (docs/routes.md, Limits: the
watchdog's hook cannot reach it) is reported: the worker cannot log, so the
watchdog thread writes one error line naming the worker's thread, a couple
of seconds past the deadline — once, not once per poll. The other worker
keeps serving, and the admin port shows the stuck run (the gauge
tycho_lua_stuck_runs, /-/status's stuck_runs). The routes are the reference
app's (a copy of routes/) with the spinning route added: its /health, which
reads tycho.server.stuck_runs(), answers 200 before and 503 "stuck" from the
other worker after, so the task gets replaced. SIGTERM cannot stop the stuck
worker: past the drain timeout and a short grace, the process names it in
the log and exits 3 without it."""
import json
import os
import shutil
import socket
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import tycho  # noqa: E402
from tycho import check  # noqa: E402

ROUTES = '''return {
  { "GET", "/spin", function()
      while true do local t = {} end -- the JIT sinks the allocation: no hook runs
  end },
  { "GET", "/ok", function() return 200, { ok = true } end },
}
'''


def stuck_now(srv):
    """What the admin port says: (the tycho_lua_stuck_runs gauge, /-/status's
    stuck_runs list)."""
    text = tycho.request(srv.admin, path="/metrics").body.decode()
    tycho.promtool_check(text)
    gauge = [float(l.split()[1]) for l in text.splitlines() if l.startswith("tycho_lua_stuck_runs ")]
    check(len(gauge) == 1, "tycho_lua_stuck_runs not in /metrics once: %r" % gauge)
    status = json.loads(tycho.request(srv.admin, path="/-/status").body)
    return int(gauge[0]), status["stuck_runs"]


def health(srv):
    """GET /health on a new connection: (status, body), or None when the
    connection landed on the stuck worker (no answer)."""
    try:
        r = tycho.request(srv.public, path="/health", timeout=2.0 * tycho.SLOW)
        return r.status, json.loads(r.body)
    except (OSError, tycho.Failure):
        return None


def main():
    top = tempfile.mkdtemp(prefix="tycho-stuck-")
    d = os.path.join(top, "routes")
    try:
        shutil.copytree(os.path.join(tycho.SRC, "routes"), d)
        with open(os.path.join(d, "spin.lua"), "w") as f:
            f.write(ROUTES)
        srv = tycho.Server(workers=2, routes=d, env={"SQS_CONSUMER": "off"},
                           args=("--handler-timeout", "300ms", "--drain-timeout", "1"))
        try:
            check(stuck_now(srv) == (0, []), "stuck runs before any: %r" % (stuck_now(srv),))
            for _ in range(4):  # both workers, most likely
                h = health(srv)
                check(h is not None and h[0] == 200 and h[1]["status"] == "healthy",
                      "/health before any stuck run: %r" % (h,))
            s = socket.create_connection(srv.public)
            s.sendall(b"GET /spin HTTP/1.1\r\nHost: t\r\n\r\n")  # never answered
            t0 = time.time()
            stuck = srv.wait_log(lambda r: "cannot be interrupted" in r.get("msg", ""), 15 * tycho.SLOW)
            check(stuck is not None, "no line about the stuck worker: %r" % srv.lines[-5:])
            check(stuck["level"] == "error", "level %r" % stuck["level"])
            check(stuck.get("thread", "").startswith("tycho-w"), "thread %r" % stuck.get("thread"))
            check(stuck["late_seconds"] >= 2, "reported %.2f s late, before 2 s" % stuck["late_seconds"])
            print("  after %.1fs: %s (thread %s, %.1f s late)" % (time.time() - t0, stuck["msg"],
                                                                  stuck["thread"], stuck["late_seconds"]))
            gauge, runs = stuck_now(srv)
            check(gauge == 1 and [r["thread"] for r in runs] == [stuck["thread"]],
                  "admin port: tycho_lua_stuck_runs %r, /-/status stuck_runs %r" % (gauge, runs))
            check(runs[0]["late_seconds"] >= 2, "/-/status: %.1f s late" % runs[0]["late_seconds"])
            print("  admin port: tycho_lua_stuck_runs %d, /-/status %r" % (gauge, runs))
            time.sleep(1.5)  # more watchdog polls: still one line
            n = sum(1 for line in srv.lines if "cannot be interrupted" in line)
            check(n == 1, "%d lines about the stuck worker, expected 1" % n)
            # the other worker answers (the kernel spreads connections over
            # both workers' sockets: a new connection until one lands there)
            ok = False
            for _ in range(20):
                try:
                    ok = tycho.request(srv.public, path="/ok", timeout=2.0 * tycho.SLOW).status == 200
                except (OSError, tycho.Failure):  # landed on the stuck worker
                    pass
                if ok:
                    break
            check(ok, "no /ok answered by the other worker in 20 connections")
            h = None
            for _ in range(20):
                h = health(srv)
                if h:
                    break
            check(h is not None, "no /health answered by the other worker in 20 connections")
            check(h[0] == 503 and h[1]["status"] == "stuck" and h[1]["stuck_runs"] == 1,
                  "/health with a stuck worker: %r" % (h,))
            print("  /health from the other worker: %d %r" % h)
            t0 = time.time()
            srv.signal()
            rc = srv.wait(10)
            check(rc == 3, "exit code %d after SIGTERM with a stuck worker" % rc)
            for t in srv._pumps:
                t.join(2)
            left = [r for r in srv.records() if r.get("msg", "").startswith("worker did not stop")]
            check([r.get("worker") for r in left] == [int(stuck["thread"][len("tycho-w"):])],
                  "the stuck worker is not named: %r" % left)
            print("  SIGTERM: exit 3 after %.1fs: %s (worker %d)" % (time.time() - t0, left[0]["msg"],
                                                                   left[0]["worker"]))
            s.close()
        finally:
            srv.kill()
    finally:
        shutil.rmtree(top, ignore_errors=True)


if __name__ == "__main__":
    tycho.run_main(main)
