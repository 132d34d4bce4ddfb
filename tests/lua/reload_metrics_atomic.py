#!/usr/bin/env python3
"""A reload's metric definitions take effect together, once every worker
switched, or not at all (docs/routes.md, tycho.metrics: "A reload may
redefine a metric"). A real `tycho serve`, two workers, POST /-/reload on
the admin port, /metrics scraped with curl.

flaky.lua fails the load that takes the third token file (os.rename is
atomic): the pre-check takes the first, the two workers the next two, so
the pre-check passes, one worker loads the new route files and the other
fails, whichever it is. The new files redefine a counter with other labels,
edit a gauge's help, add a counter, leave one out, and replace a histogram
`atom_work` by a counter `atom_work_count` (whose samples would collide).
Expected of the failed reload: every atom_ line of /metrics as before it
(the worker that loaded registered nothing anyone sees), and the old
routes' updates still counted there. It used to show the redefined counter
without its series, the edited help, the new counter, and no histogram,
until the next good reload. The next reload (tokens gone) switches every
worker and /metrics together. A reload whose route file gives a help text
with a NUL byte is refused by the pre-check, /metrics unchanged."""
import json
import os
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import tycho  # noqa: E402
from tycho import write  # noqa: E402
from tycho import check  # noqa: E402

V1 = '''local metrics = require "tycho.metrics"
local visits = metrics.counter("atom_visits_total", "Visits.", { "action" })
local depth = metrics.gauge("atom_depth", "Depth.")
local gone = metrics.counter("atom_gone_total", "Left out by v2.")
local work = metrics.histogram("atom_work", "Work.", nil, { 1 })
return { ["GET /visit"] = function()
  visits:inc { action = "visit" }
  depth:inc()
  gone:inc()
  work:observe(0.5)
  return "v1"
end }
'''
V2 = '''local metrics = require "tycho.metrics"
local visits = metrics.counter("atom_visits_total", "Visits by user.", { "action", "user" })
local depth = metrics.gauge("atom_depth", "Depth, edited.")
local new = metrics.counter("atom_new_total", "New in v2.")
local work = metrics.counter("atom_work_count", "Work done.")
return { ["GET /visit"] = function()
  visits:inc { action = "visit", user = "ann" }
  depth:inc()
  new:inc()
  work:inc()
  return "v2"
end }
'''
NUL_HELP = '''require("tycho.metrics").counter("atom_nul_total", "Visits.\\0hidden")
return {}
'''


def atom_lines(srv, lint=False):
    """The lines of /metrics about atom_ metrics, as curl gets them (and the
    whole text checked by promtool when lint: v2's atom_work_count, a counter
    without _total, is what it flags)."""
    out = subprocess.run(["curl", "-sS", "--fail", "--max-time", str(10 * tycho.SLOW),
                          "http://%s:%d/metrics" % srv.admin],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, check=False)
    check(out.returncode == 0, "curl /metrics: %r" % out.stderr)
    text = out.stdout.decode()
    if lint:
        tycho.promtool_check(text)
    return [line for line in text.splitlines() if "atom_" in line]


def visits(srv, n, version):
    for _ in range(n):  # new connections: both workers answer some
        r = tycho.request(srv.public, path="/visit")
        check(r.status == 200 and r.body.decode() == version, "GET /visit: %r, want %s" % (r, version))


def reload(srv, want):
    r = tycho.request(srv.admin, method="POST", path="/-/reload", timeout=20 * tycho.SLOW)
    check(r.status == want, "POST /-/reload: %d %r, want %d" % (r.status, r.body, want))
    return json.loads(r.body).get("error", "")


def main():
    d = tempfile.mkdtemp(prefix="tycho-reload-metrics-atomic-")
    routes, tokens = os.path.join(d, "routes"), os.path.join(d, "tokens")
    os.mkdir(routes)
    os.mkdir(tokens)
    try:
        write(os.path.join(routes, "visit.lua"), V1)
        with tycho.Server(workers=2, routes=routes) as srv:
            visits(srv, 5, "v1")
            before = atom_lines(srv, lint=True)
            check('atom_visits_total{action="visit"} 5' in before and "atom_work_count 5" in before,
                  "v1 counted: %r" % before)

            write(os.path.join(routes, "visit.lua"), V2)
            tycho.arm_third_load_failure(routes, tokens)
            body = reload(srv, 422)
            check("flaky: the third load fails" in body, "the reload failed on a worker: %s" % body)
            tycho.check_three_loads(tokens)
            after = atom_lines(srv)
            print("  after the failed reload:\n    " + "\n    ".join(after))
            check(after == before, "the failed reload changed /metrics:\nbefore %r\nafter  %r"
                  % (before, after))
            visits(srv, 3, "v1")
            got = atom_lines(srv)
            check([line for line in got if line.startswith("#")]
                  == [line for line in before if line.startswith("#")]
                  and all(want in got for want in ('atom_visits_total{action="visit"} 8',
                                                   "atom_depth 8", "atom_gone_total 8",
                                                   "atom_work_count 8", "atom_work_sum 4")),
                  "the old routes still count where /metrics shows them: %r" % got)

            write(os.path.join(routes, "nul.lua"), NUL_HELP)
            body = reload(srv, 422)
            check('metric "atom_nul_total": the help text holds a NUL byte' in body,
                  "the NUL help refused by the pre-check: %s" % body)
            check(atom_lines(srv) == got, "the refused reload changed /metrics")
            os.remove(os.path.join(routes, "nul.lua"))

            reload(srv, 200)  # the tokens are gone: flaky.lua loads everywhere
            visits(srv, 2, "v2")
            got = atom_lines(srv)
            print("  after the good reload:\n    " + "\n    ".join(got))
            want = [
                "# HELP atom_visits_total Visits by user.",
                "# TYPE atom_visits_total counter",
                'atom_visits_total{action="visit",user="ann"} 2',
                "# HELP atom_depth Depth, edited.",
                "# TYPE atom_depth gauge",
                "atom_depth 10",
                "# HELP atom_new_total New in v2.",
                "# TYPE atom_new_total counter",
                "atom_new_total 2",
                "# HELP atom_work_count Work done.",
                "# TYPE atom_work_count counter",
                "atom_work_count 2",
            ]
            check(got == want, "after the good reload:\n got  %r\n want %r" % (got, want))
            check(srv.stop() == 0, "clean exit")
        print("a reload that failed on one worker left /metrics as it was; the next one changed it whole")
    finally:
        shutil.rmtree(d, ignore_errors=True)


if __name__ == "__main__":
    tycho.run_main(main)
