#!/usr/bin/env python3
"""A reload SIGTERM overtakes while its workers load is rolled back (README,
The admin listener; docs/routes.md, Hot reload): serve.c's refuse_reload
drops the load's metric definitions (tycho_metrics_rollback_load), so far
pinned by unit.metrics' test_load_window alone. Here a real `tycho serve`,
two workers, POST /-/reload on the admin port.

The new route files redefine a counter with other labels, edit a gauge's
help and add a counter; z_slow_load.lua (tests/lib/tycho.py,
arm_slow_worker_loads) lets the pre-check pass at once and keeps each worker
loading for a while, after those definitions were made. SIGTERM comes once
both workers load, with a request in flight (GET /slow). Expected: the POST
answered 503 refused once the loads end; /metrics, while the workers load
and during the drain after the refusal, has every halfway_ line as before
the reload (nothing of the discarded load shows, the old counts stay); the
in-flight request finishes 200 after that (the drain ran); nothing counts as
a reload; exit 0."""
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

LOAD_SECONDS = 1.5 * tycho.SLOW
SLOW = ('return { ["GET /slow"] = function() require("tycho.time").sleep(%g) return "slow" end }\n'
        % (4 * LOAD_SECONDS))
V1 = '''local metrics = require "tycho.metrics"
local visits = metrics.counter("halfway_visits_total", "Visits.", { "action" })
local depth = metrics.gauge("halfway_depth", "Depth.")
return { ["GET /visit"] = function()
  visits:inc { action = "visit" }
  depth:inc()
  return "v1"
end }
'''
V2 = '''local metrics = require "tycho.metrics"
local visits = metrics.counter("halfway_visits_total", "Visits by user.", { "action", "user" })
local depth = metrics.gauge("halfway_depth", "Depth, edited.")
local new = metrics.counter("halfway_new_total", "New in the reload SIGTERM overtook.")
return { ["GET /visit"] = function()
  visits:inc { action = "visit", user = "ann" }
  depth:inc()
  new:inc()
  return "v2"
end }
'''
REFUSED = "shutting down: the routes are not reloaded"


def halfway_lines(srv, when):
    r = tycho.request(srv.admin, path="/metrics", timeout=10 * tycho.SLOW)
    check(r.status == 200, "%s: GET /metrics: %r" % (when, r))
    return [line for line in r.body.decode().splitlines() if "halfway_" in line]


def main():
    d = tempfile.mkdtemp(prefix="tycho-reload-shutdown-rollback-")
    routes, marks = os.path.join(d, "routes"), os.path.join(d, "marks")
    os.mkdir(routes)
    os.mkdir(marks)
    try:
        write(os.path.join(routes, "metrics.lua"), V1)
        write(os.path.join(routes, "slow.lua"), SLOW)
        with tycho.Server(workers=2, routes=routes) as srv:
            for _ in range(4):  # new connections: both workers answer some
                r = tycho.request(srv.public, path="/visit")
                check(r.status == 200 and r.body == b"v1", "GET /visit: %r" % (r,))
            before = halfway_lines(srv, "before the reload")
            check('halfway_visits_total{action="visit"} 4' in before and "halfway_depth 4" in before,
                  "v1 counted: %r" % before)

            write(os.path.join(routes, "metrics.lua"), V2)
            tycho.arm_slow_worker_loads(routes, marks, LOAD_SECONDS)
            slow = in_thread(lambda: tycho.request(srv.public, path="/slow",
                                                   timeout=30 * tycho.SLOW))
            time.sleep(0.2 * tycho.SLOW)  # /slow is in its handler before the workers block
            post = in_thread(lambda: tycho.request(srv.admin, "POST", "/-/reload",
                                                   timeout=30 * tycho.SLOW))
            deadline = time.time() + 10 * tycho.SLOW
            while tycho.workers_loading(marks) < 2 and time.time() < deadline:
                time.sleep(0.02)
            check(tycho.workers_loading(marks) == 2,
                  "the two workers never loaded the reload (%d did)" % tycho.workers_loading(marks))
            check(os.path.exists(os.path.join(marks, "precheck.taken")), "the pre-check did not run")
            loading = halfway_lines(srv, "while the workers load")
            srv.signal(signal.SIGTERM)

            post[0].join(10 * tycho.SLOW)
            check(not post[0].is_alive(), "POST /-/reload: no answer within 10 s of SIGTERM")
            check("r" in post[1], "POST /-/reload: the connection failed: %r" % post[1].get("e"))
            r = post[1]["r"]
            check(r.status == 503 and json.loads(r.body) == {"status": "refused", "error": REFUSED},
                  "POST /-/reload: %d %r, want 503 refused" % (r.status, r.body))
            check(slow[0].is_alive(), "the in-flight request ended before the refusal was seen")
            draining = halfway_lines(srv, "during the drain")
            for when, got in (("while the workers load", loading), ("during the drain", draining)):
                print("  /metrics %s:\n    %s" % (when, "\n    ".join(got)))
                check(got == before, "/metrics %s differs from before the reload:\nbefore %r\n"
                      "now    %r" % (when, before, got))

            slow[0].join(10 * tycho.SLOW)
            check(not slow[0].is_alive(), "the in-flight request: still waiting")
            r = slow[1].get("r")
            check(r is not None and r.status == 200 and r.body == b"slow",
                  "the in-flight request did not finish: %r" % (slow[1],))
            check(slow[1]["t"] > post[1]["t"], "the in-flight request ended before the refusal")
            check(srv.wait(30 * tycho.SLOW) == 0, "exit code after the drain")

            recs = srv.records()
            counted = [x for x in recs if x.get("msg") in (
                "routes reloaded", "reload failed; previous routes keep serving")]
            check(not counted, "the overtaken reload was counted: %r" % counted)
            check([x for x in recs if x.get("msg") == REFUSED], "no log line says it was refused")
            check(not [x for x in recs if x.get("level") == "error"],
                  "error lines: %r" % [x for x in recs if x.get("level") == "error"])
            print("a reload SIGTERM overtook while its workers loaded: refused (503), /metrics "
                  "as before it while loading and during the drain, the in-flight request "
                  "finished, exit 0")
    finally:
        shutil.rmtree(d, ignore_errors=True)


if __name__ == "__main__":
    tycho.run_main(main)
