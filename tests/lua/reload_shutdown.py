#!/usr/bin/env python3
"""No reload once the shutdown began (README, The admin listener).

Two workers; a request to GET /slow keeps one of them draining for 3 s while
the other, idle, ends its loop at once. A reload needs every worker to load:
one started (or still loading) after SIGTERM used to wait for the worker
that had ended, so POST /-/reload hung until the process exited and its
connection was cut without an answer.

1. z_busy.lua loops for 1.5 s (wall clock) at load; POST /-/reload starts a reload
   whose pre-check is still running when SIGTERM comes.
2. Another POST comes during the drain.
Both get 503 {"status":"refused"} before the drain ends, the in-flight
request finishes, nothing counts as a reload (success or failure), SIGHUP
during the drain says it does not reload, and the exit is clean."""
import json
import os
import shutil
import signal
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import tycho  # noqa: E402
from tycho import write, in_thread  # noqa: E402
from tycho import check  # noqa: E402

SLOW = 'return { ["GET /slow"] = function() require("tycho.time").sleep(3) return "slow" end }\n'
BUSY = ('local mono = require("tycho.time").monotonic\n'
        'local t = mono() while mono() - t < 1.5 do end\n'
        'return { ["GET /z"] = function() return "z" end }\n')
REFUSED = "shutting down: the routes are not reloaded"


def answered_refused(what, t, out):
    t.join(10 * tycho.SLOW)
    check(not t.is_alive(), "%s: no answer within 10 s" % what)
    check("r" in out, "%s: no answer, the connection failed: %r" % (what, out.get("e")))
    r = out["r"]
    body = json.loads(r.body)
    check(r.status == 503 and body == {"status": "refused", "error": REFUSED},
          "%s: %d %r, want 503 refused" % (what, r.status, body))
    return out["t"]


def main():
    tmp = tempfile.mkdtemp(prefix="tycho-reload-shutdown-")
    try:
        routes = os.path.join(tmp, "routes")
        os.mkdir(routes)
        write(os.path.join(routes, "slow.lua"), SLOW)
        with tycho.Server(workers=2, routes=routes) as srv:
            write(os.path.join(routes, "z_busy.lua"), BUSY)
            post1 = in_thread(lambda: tycho.request(srv.admin, "POST", "/-/reload",
                                                    timeout=30 * tycho.SLOW))
            time.sleep(0.3 * tycho.SLOW)
            slow = in_thread(lambda: tycho.request(srv.public, "GET", "/slow",
                                                   timeout=30 * tycho.SLOW))
            time.sleep(0.3 * tycho.SLOW)
            srv.signal(signal.SIGTERM)
            check(srv.wait_draining(5 * tycho.SLOW) == 503, "/-/ready never said draining")
            post2 = in_thread(lambda: tycho.request(srv.admin, "POST", "/-/reload",
                                                    timeout=30 * tycho.SLOW))
            srv.signal(signal.SIGHUP)

            answers = [answered_refused("POST during a reload that SIGTERM overtook", *post1),
                       answered_refused("POST during the drain", *post2)]
            slow[0].join(10 * tycho.SLOW)
            check(not slow[0].is_alive(), "the in-flight request: still waiting after 10 s")
            check(max(answers) < slow[1]["t"], "the POSTs were answered only after the drain")
            r = slow[1].get("r")
            check(r is not None and r.status == 200 and r.body == b"slow",
                  "the in-flight request: %r" % (slow[1],))
            check(srv.wait(30) == 0, "exit code after the drain")

            recs = srv.records()
            counted = [x for x in recs if x.get("msg") in ("routes reloaded",
                                                          "reload failed; previous routes keep serving")]
            check(not counted, "a refused reload was counted: %r" % counted)
            refusals = [x for x in recs if x.get("msg") == REFUSED]
            check(refusals, "no log line says the reload was refused")
            hup = [x for x in recs if x.get("msg") == "SIGHUP: reloading routes"]
            check(not hup, "SIGHUP during the drain said it reloads")
            print("reloads during a shutdown: refused with 503 before the drain ended, "
                  "the in-flight request finished, exit 0")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    tycho.run_main(main)
