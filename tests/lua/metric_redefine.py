#!/usr/bin/env python3
"""A reload that changes a Lua metric's labels (a real `tycho serve`, two
workers, POST /-/reload on the admin port):

1. The reload succeeds; from then on the metric counts under its new labels
   (from 0, with its new help text) and the old series are gone from
   /metrics, which promtool still accepts.
2. A reload whose route files define that metric twice, with other labels,
   fails with the registry's message, and the routes and series before it
   keep serving and counting.
3. Changing the labels back is a reload like any other.
4. A reload that only edits the help text: the new HELP shows, the counts
   go on.
5. A handler that defines the metric again with another type, at request
   time, gets the registry's error on every worker: both workers count the
   same loads, so the two definitions are of one load everywhere.
6. A reload that replaces a histogram `x` by a counter `x_count` (whose
   samples the histogram's would collide with) succeeds: the histogram the
   new routes no longer define is not in its way. It used to fail with
   'its samples would collide with histogram "x"' until a restart.
"""
import json
import os
import re
import shutil
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import tycho  # noqa: E402
from tycho import check  # noqa: E402

SAMPLE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$')
LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"')
NAME = "redef_visits_total"


def route(help_text, labels, inc, version):
    return '''local metrics = require "tycho.metrics"
local visits = metrics.counter("%s", "%s", { %s })
return {
  { "GET", "/visit", function()
      visits:inc { %s }
      return 200, { version = %d }
  end },
}
''' % (NAME, help_text, ", ".join('"%s"' % l for l in labels), inc, version)


V1 = route("Visits.", ["action"], 'action = "visit"', 1)
V1_EDITED = route("Visits, edited.", ["action"], 'action = "visit"', 1)
V2 = route("Visits, by user.", ["action", "user"], 'action = "visit", user = "ann"', 2)
# a handler defining the metric of V1 again, as a gauge
REDEF = '''local metrics = require "tycho.metrics"
return {
  { "GET", "/redef", function()
      local ok, err = pcall(metrics.gauge, "%s", "Now a gauge?", { "action" })
      return 200, { ok = ok, err = not ok and tostring(err) or nil }
  end },
}
''' % NAME
WORK_HIST = '''local metrics = require "tycho.metrics"
local work = metrics.histogram("redef_work", "Work.", nil, { 1 })
return { { "GET", "/work", function() work:observe(0.5) return 200, { kind = "histogram" } end } }
'''
WORK_COUNT = '''local metrics = require "tycho.metrics"
local work = metrics.counter("redef_work_count", "Work done.")
return { { "GET", "/work", function() work:inc() return 200, { kind = "counter" } end } }
'''
CONFLICT = '''local metrics = require "tycho.metrics"
metrics.counter("%s", "The same name, other labels.", { "other" })
return { { "GET", "/other", function() return 200, {} end } }
''' % NAME


def series(addr):
    """{label tuple: value} of every sample of NAME on /metrics, and the text."""
    r = tycho.request(addr, "GET", "/metrics")
    check(r.status == 200, "/metrics answered %d" % r.status)
    text = r.body.decode()
    found = {}
    for line in text.splitlines():
        m = SAMPLE.match(line)
        if m and m.group(1) == NAME:
            found[tuple(sorted(LABEL.findall(m.group(2) or "")))] = float(m.group(3))
    return found, text


def visits(srv, n, version):
    for _ in range(n):
        r = tycho.request(srv.public, "GET", "/visit")
        check(r.status == 200, "GET /visit: %r" % r)
        got = json.loads(r.body)["version"]
        check(got == version, "GET /visit served version %d, want %d" % (got, version))


def reload(srv, want_status):
    r = tycho.request(srv.admin, "POST", "/-/reload", timeout=20)
    check(r.status == want_status, "POST /-/reload: %d %r, want %d" % (r.status, r.body, want_status))
    return json.loads(r.body)


def write(routes, name, text):
    with open(os.path.join(routes, name), "w") as f:
        f.write(text)


def main():
    routes = tempfile.mkdtemp(prefix="tycho-redefine-")
    try:
        write(routes, "visit.lua", V1)
        with tycho.Server(workers=2, routes=routes) as srv:
            visits(srv, 10, 1)
            got, _ = series(srv.admin)
            check(got == {(("action", "visit"),): 10}, "before the reload: %r" % got)

            write(routes, "visit.lua", V2)
            reload(srv, 200)
            visits(srv, 6, 2)
            got, text = series(srv.admin)
            check(got == {(("action", "visit"), ("user", "ann")): 6},
                  "after the reload: only the new labels, counted from 0: %r" % got)
            check("# HELP %s Visits, by user." % NAME in text, "the new help text")
            tycho.promtool_check(text)

            write(routes, "other.lua", CONFLICT)
            doc = reload(srv, 422)
            check(NAME in doc.get("error", "") and "already registered" in doc["error"],
                  "the failed reload says why: %r" % doc)
            check(tycho.request(srv.public, "GET", "/other").status == 404,
                  "the failed reload's routes are not served")
            visits(srv, 4, 2)
            got, _ = series(srv.admin)
            check(got == {(("action", "visit"), ("user", "ann")): 10},
                  "after the failed reload, still counting: %r" % got)

            os.remove(os.path.join(routes, "other.lua"))
            write(routes, "visit.lua", V1)
            reload(srv, 200)
            visits(srv, 3, 1)
            got, text = series(srv.admin)
            check(got == {(("action", "visit"),): 3}, "the labels changed back: %r" % got)
            tycho.promtool_check(text)

            write(routes, "visit.lua", V1_EDITED)
            reload(srv, 200)
            visits(srv, 2, 1)
            got, text = series(srv.admin)
            check(got == {(("action", "visit"),): 5}, "the help edited: counts go on: %r" % got)
            check("# HELP %s Visits, edited.\n" % NAME in text,
                  "the reload's help text: %r" % [l for l in text.splitlines() if NAME in l])

            write(routes, "redef.lua", REDEF)
            reload(srv, 200)
            for i in range(20):  # new connections: both workers answer some
                r = tycho.request(srv.public, "GET", "/redef")
                doc = json.loads(r.body)
                check(not doc["ok"] and "already registered as counter" in doc["err"],
                      "request %d: a gauge redefining the counter at request time: %r" % (i, doc))
            write(routes, "work.lua", WORK_HIST)
            reload(srv, 200)
            check(tycho.request(srv.public, "GET", "/work").status == 200, "GET /work (histogram)")
            text = series(srv.admin)[1]
            check("redef_work_count 1\n" in text, "the histogram counted one: %r"
                  % [l for l in text.splitlines() if "redef_work" in l])
            write(routes, "work.lua", WORK_COUNT)
            doc = reload(srv, 200)
            for _ in range(3):
                r = tycho.request(srv.public, "GET", "/work")
                check(json.loads(r.body)["kind"] == "counter", "GET /work after the reload: %r" % r)
            text = series(srv.admin)[1]
            work = [l for l in text.splitlines() if "redef_work" in l]
            check("redef_work_count 3" in work and "# TYPE redef_work_count counter" in work
                  and not any("redef_work_bucket" in l or "redef_work_sum" in l for l in work),
                  "the counter alone, from 0: %r" % work)
            check(srv.stop() == 0, "clean exit")
        print("metric redefined by a reload: 10 -> 6 -> 3 visits, each under its own labels; "
              "a conflicting reload refused, an edited help taken, a conflicting handler refused on every worker")
    finally:
        shutil.rmtree(routes, ignore_errors=True)


if __name__ == "__main__":
    tycho.run_main(main)
