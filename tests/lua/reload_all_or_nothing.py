#!/usr/bin/env python3
"""A reload that fails on one worker only (docs/routes.md, Hot reload: all or
nothing). flaky.lua takes one token file per load (os.rename is atomic): the
pre-check takes the first, the two workers the next two, and the load that
takes the third raises — so the pre-check passes, one worker loads and the
other fails, whichever it is. Expected: no worker switches, every one keeps
serving the old version, /-/status and tycho_reload_generation stay on
generation 1 in step with worker_generations; the next reload (tokens gone,
the file loads everywhere) moves every worker to generation 2 together."""
import json
import os
import shutil
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import tycho  # noqa: E402
from tycho import write  # noqa: E402
from tycho import check  # noqa: E402

VERSION = 'return { ["GET /v"] = function() return "%s" end }\n'


def versions_served(srv, n=40):
    """The bodies of GET /v over n new connections (the kernel spreads them
    over both workers' sockets)."""
    return {tycho.request(srv.public, path="/v").body.decode() for _ in range(n)}


def state(srv):
    st = json.loads(tycho.request(srv.admin, path="/-/status").body)
    metrics = tycho.request(srv.admin, path="/metrics").body.decode()
    gauge = [line for line in metrics.splitlines() if line.startswith("tycho_reload_generation")]
    return st, gauge


def expect_generation(srv, gen, what):
    st, gauge = state(srv)
    print("  %s: generation %s, worker_generations %s, %s" % (what, st["generation"],
                                                               st["worker_generations"], gauge))
    check(st["generation"] == gen, "%s: status generation %r, expected %d" % (what, st["generation"], gen))
    check(st["worker_generations"] == [gen, gen], "%s: worker_generations %r" % (what, st["worker_generations"]))
    check(gauge == ["tycho_reload_generation %d" % gen], "%s: %r" % (what, gauge))
    return st


def main():
    d = tempfile.mkdtemp(prefix="tycho-flaky-")
    routes, tokens = os.path.join(d, "routes"), os.path.join(d, "tokens")
    os.mkdir(routes)
    os.mkdir(tokens)
    try:
        write(os.path.join(routes, "v.lua"), VERSION % "v1")
        srv = tycho.Server(workers=2, routes=routes)
        try:
            check(versions_served(srv) == {"v1"}, "v1 not served")
            write(os.path.join(routes, "v.lua"), VERSION % "v2")
            tycho.arm_third_load_failure(routes, tokens)
            r = tycho.request(srv.admin, method="POST", path="/-/reload", timeout=10 * tycho.SLOW)
            body = json.loads(r.body)
            print("  the flaky reload: %d %s" % (r.status, body))
            tycho.check_three_loads(tokens)
            served = versions_served(srv)
            check(served == {"v1"}, "after a reload that failed on one worker, served %r" % served)
            st = expect_generation(srv, 1, "after the failed reload")
            check(r.status == 422 and "flaky: the third load fails" in body.get("error", ""),
                  "reload answered %d %r" % (r.status, body))
            check("flaky: the third load fails" in (st["last_error"] or ""), "last_error %r" % st["last_error"])
            check(st["reloads"] == {"success": 0, "failure": 1}, "reloads %r" % st["reloads"])
            log = srv.wait_log(lambda rec: rec.get("msg") == "reload failed; previous routes keep serving", 2)
            check(log is not None and "flaky" in log.get("error", ""), "no failure line naming the error")

            r = tycho.request(srv.admin, method="POST", path="/-/reload", timeout=10 * tycho.SLOW)
            check(r.status == 200 and json.loads(r.body)["generation"] == 2,
                  "the next reload: %d %r" % (r.status, r.body))
            served = versions_served(srv)
            check(served == {"v2"}, "after the good reload, served %r" % served)
            expect_generation(srv, 2, "after the good reload")
            check(srv.stop() == 0, "exit code not 0")
        finally:
            srv.kill()
    finally:
        shutil.rmtree(d, ignore_errors=True)


if __name__ == "__main__":
    tycho.run_main(main)
