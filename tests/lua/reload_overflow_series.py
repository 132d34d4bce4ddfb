#!/usr/bin/env python3
"""tycho_metrics_overflow_total{metric="<m>"} goes with metric m
(docs/telemetry.md, cardinality guard). A real `tycho serve`, two workers,
POST /-/reload, /metrics scraped with curl. A route folds 5 updates of
ovf_ids_total and 5 of ovf_kept_total past their 1000-label-set cap. A
reload that redefines ovf_ids_total with other labels: its overflow count
is the new metric's (none yet), ovf_kept_total's (same shape, kept) goes on.
A reload whose files no longer define ovf_ids_total: its overflow series
leaves /metrics with it. It used to stay at 5 for as long as the process
ran, a count of a metric that no longer exists."""
import os
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import tycho  # noqa: E402
from tycho import check  # noqa: E402

ROUTE = '''local metrics = require "tycho.metrics"
local ids = %s
local kept = metrics.counter("ovf_kept_total", "Kept.", { "id" })
return { ["POST /fold"] = function()
  for i = 1, 1005 do
    if ids then ids:inc { id = tostring(i) } end
    kept:inc { id = tostring(i) }
  end
  return "folded"
end }
'''
IDS_V1 = 'metrics.counter("ovf_ids_total", "Ids.", { "id" })'
IDS_V2 = 'metrics.counter("ovf_ids_total", "Ids, by kind.", { "id", "kind" })'


def overflow_series(srv):
    """{metric label: value} of tycho_metrics_overflow_total, as curl gets /metrics."""
    out = subprocess.run(["curl", "-sS", "--fail", "--max-time", str(10 * tycho.SLOW),
                          "http://%s:%d/metrics" % srv.admin],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, check=False)
    check(out.returncode == 0, "curl /metrics: %r" % out.stderr)
    text = out.stdout.decode()
    tycho.promtool_check(text)
    prefix = 'tycho_metrics_overflow_total{metric="'
    found = {}
    for line in text.splitlines():
        if line.startswith(prefix):
            name, value = line[len(prefix):].split('"} ')
            found[name] = float(value)
    return found


def write(routes, text):
    with open(os.path.join(routes, "fold.lua"), "w") as f:
        f.write(text)


def reload(srv):
    r = tycho.request(srv.admin, method="POST", path="/-/reload", timeout=20 * tycho.SLOW)
    check(r.status == 200, "POST /-/reload: %d %r" % (r.status, r.body))


def fold(srv):
    r = tycho.request(srv.public, method="POST", path="/fold")
    check(r.status == 200, "POST /fold: %r" % r)


def main():
    routes = tempfile.mkdtemp(prefix="tycho-reload-overflow-")
    try:
        write(routes, ROUTE % IDS_V1)
        with tycho.Server(workers=2, routes=routes) as srv:
            fold(srv)
            got = overflow_series(srv)
            check(got == {"ovf_ids_total": 5, "ovf_kept_total": 5}, "after the first fold: %r" % got)

            write(routes, ROUTE % IDS_V2)
            reload(srv)
            got = overflow_series(srv)
            check(got == {"ovf_kept_total": 5}, "redefined with other labels: %r" % got)

            write(routes, ROUTE % IDS_V1)  # back, then a fold: counts from 0
            reload(srv)
            fold(srv)
            got = overflow_series(srv)
            check(got == {"ovf_ids_total": 5, "ovf_kept_total": 10}, "redefined back, folded: %r" % got)

            write(routes, ROUTE % "nil")
            reload(srv)
            got = overflow_series(srv)
            check(got == {"ovf_kept_total": 10}, "ovf_ids_total dropped: %r" % got)
            fold(srv)
            check(overflow_series(srv) == {"ovf_kept_total": 15}, "kept counting")
            check(srv.stop() == 0, "clean exit")
        print("the overflow count of a redefined or dropped metric left /metrics with it")
    finally:
        shutil.rmtree(routes, ignore_errors=True)


if __name__ == "__main__":
    tycho.run_main(main)
