#!/usr/bin/env python3
"""POST /-/reload answers with the result of a reload that read the files
after the request came (README, The admin listener). A route author fixes a
file while a reload of its broken text is still loading, then posts: that
reload fails, but the POST must wait for the reload it asked for and get
its 200, not the 422 of a load that began before it.

z_slow.lua computes for 1.5 s at load, then requires a missing module. A
SIGHUP starts its reload; 0.5 s later the file is fixed and POST /-/reload
sent while the pre-check still runs the broken text. The POST is logged as
the SIGHUP is, with the client's address and the request id."""
import json
import os
import shutil
import signal
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import tycho  # noqa: E402
from tycho import write  # noqa: E402
from tycho import check  # noqa: E402

BROKEN = 'local t = os.clock() while os.clock() - t < 1.5 do end require "nosuch"\nreturn {}\n'
FIXED = 'return { ["GET /z"] = function() return "fixed" end }\n'


def main():
    tmp = tempfile.mkdtemp(prefix="tycho-reload-post-")
    try:
        routes = os.path.join(tmp, "routes")
        os.mkdir(routes)
        write(os.path.join(routes, "z_slow.lua"), FIXED)
        with tycho.Server(workers=2, routes=routes) as srv:
            write(os.path.join(routes, "z_slow.lua"), BROKEN)
            srv.signal(signal.SIGHUP)
            time.sleep(0.5 * tycho.SLOW)
            write(os.path.join(routes, "z_slow.lua"), FIXED)
            r = tycho.request(srv.admin, "POST", "/-/reload", timeout=20 * tycho.SLOW)
            body = json.loads(r.body)
            check(r.status == 200 and body.get("status") == "reloaded",
                  "POST /-/reload after the fix: %d %r (the answer of the reload that "
                  "started before it?)" % (r.status, body))
            st = json.loads(tycho.request(srv.admin, "GET", "/-/status").body)
            check(body["generation"] == st["generation"],
                  "answered generation %r, /-/status says %r" % (body["generation"], st["generation"]))
            failed = srv.wait_log(lambda x: x.get("msg", "").startswith("reload failed"))
            check(failed and "nosuch" in failed["error"],
                  "the SIGHUP's reload of the broken text failed: %r" % [
                      x.get("msg") for x in srv.records()])
            # log lines reach stdout through the log writer: the answer can
            # come before its line has been read
            srv.wait_log(lambda x: x.get("msg") == "POST /-/reload: reloading routes")
            asked = [x for x in srv.records() if x.get("msg") == "POST /-/reload: reloading routes"]
            check(len(asked) == 1 and asked[0].get("client_ip") == "127.0.0.1"
                  and asked[0].get("request_id"),
                  "want one line saying POST /-/reload asked for a reload (client_ip, "
                  "request_id), as SIGHUP has: %r" % asked)
            r = tycho.request(srv.public, "GET", "/z")
            check(r.status == 200 and r.body == b"fixed", "GET /z: %d %r" % (r.status, r.body))
            print("a POST during a reload of an older text: answered by its own reload, 200")
            check(srv.stop() == 0, "clean exit")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    tycho.run_main(main)
