#!/usr/bin/env python3
"""The reload gauges an operator alerts on (docs/telemetry.md, Metrics):
tycho_reload_last_successful says whether the last load of the routes
worked for as long as it stays so, and
tycho_reload_last_success_timestamp_seconds when one last did. The counter
tycho_reloads_total{result="failure"} alone says it only inside an
increase() window: a route file left broken goes quiet after it.

At start-up: 1, and the time of the start. A reload of a broken file: 0,
the time unchanged, and it stays 0 while nothing changes. The fix: 1 and a
later time. The exposition passes promtool."""
import os
import shutil
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import tycho  # noqa: E402
from tycho import write  # noqa: E402
from tycho import check  # noqa: E402

GOOD = 'return { ["GET /v"] = function() return "%s" end }\n'
BROKEN = 'return { ["GET /v"] = function() return "v2" end \n'


def gauges(srv):
    text = tycho.request(srv.admin, path="/metrics").body.decode()
    tycho.promtool_check(text)
    out = {}
    for line in text.splitlines():
        for name in ("tycho_reload_last_successful", "tycho_reload_last_success_timestamp_seconds"):
            if line.startswith(name + " "):
                out[name] = float(line.split()[1])
    check(len(out) == 2, "both reload gauges on /metrics: %r" % out)
    return out["tycho_reload_last_successful"], out["tycho_reload_last_success_timestamp_seconds"]


def reload(srv, want):
    r = tycho.request(srv.admin, "POST", "/-/reload", timeout=20 * tycho.SLOW)
    check(r.status == want, "POST /-/reload: %d %r, expected %d" % (r.status, r.body, want))


def main():
    tmp = tempfile.mkdtemp(prefix="tycho-reload-metrics-")
    try:
        routes = os.path.join(tmp, "routes")
        os.mkdir(routes)
        write(os.path.join(routes, "v.lua"), GOOD % "v1")
        before = time.time()
        with tycho.Server(workers=2, routes=routes) as srv:
            ok, at = gauges(srv)
            print("  start-up: successful %g at %.3f" % (ok, at))
            check(ok == 1, "after start-up, tycho_reload_last_successful %g" % ok)
            check(before - 1 <= at <= time.time() + 1,
                  "start-up's success time %.3f not within the start (%.3f..now)" % (at, before))
            started = at

            write(os.path.join(routes, "v.lua"), BROKEN)
            time.sleep(0.05)
            reload(srv, 422)
            for _ in range(2):  # stays so until something changes
                ok, at = gauges(srv)
                print("  broken: successful %g at %.3f" % (ok, at))
                check(ok == 0, "after a failed reload, tycho_reload_last_successful %g" % ok)
                check(at == started, "a failed reload moved the success time: %.3f -> %.3f"
                      % (started, at))
                time.sleep(0.2)

            write(os.path.join(routes, "v.lua"), GOOD % "v3")
            reload(srv, 200)
            ok, at = gauges(srv)
            print("  fixed: successful %g at %.3f" % (ok, at))
            check(ok == 1, "after the fix, tycho_reload_last_successful %g" % ok)
            check(at > started, "the fix's success time %.3f not after the start's %.3f"
                  % (at, started))
            r = tycho.request(srv.public, path="/v")
            check(r.body == b"v3", "GET /v after the fix: %r" % r.body)
            check(srv.stop() == 0, "clean exit")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    tycho.run_main(main)
