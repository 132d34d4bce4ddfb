#!/usr/bin/env python3
"""The `host` label of tycho_http_client_request_duration_seconds is bounded
(docs/telemetry.md): a worker's first TYCHO_HTTP_CLIENT_MAX_HOSTS distinct
hosts keep their name, later ones are host="other" (status_class kept), one
warn line says so; a bad value stops start-up with exit 2. Before, every
host got its own series until the family's 1000-series cap, after which new
(host, status_class) pairs, a known host's first 5xx among them, went to
the __overflow__ series with neither label.

A real `tycho serve` (one worker: the bound is per worker) whose route calls
tycho.http to a real HTTP server listening on 127.0.0.2 ... 127.0.0.7 (all
loopback, distinct hosts); /metrics scraped over the admin port."""
import http.server
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import threading

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import tycho  # noqa: E402
from tycho import check  # noqa: E402

ROUTE = '''local http = require "tycho.http"
return { ["GET /call/:host/:port/:status"] = function(req)
  local p = req.params
  local status, err = http.request { url = "http://" .. p.host .. ":" .. p.port .. "/" .. p.status,
                                     timeout = 5 }
  if not status then return 502, { error = err } end
  return { status = status }
end }
'''
HOSTS = ["127.0.0.%d" % i for i in range(2, 8)]
METRIC = "tycho_http_client_request_duration_seconds_count"


class Answer(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(int(self.path.strip("/")))
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass


def peers():
    """One HTTP server per host of HOSTS, all on the same free port."""
    for _ in range(20):
        first = http.server.ThreadingHTTPServer((HOSTS[0], 0), Answer)
        port = first.server_address[1]
        servers = [first]
        try:
            for h in HOSTS[1:]:
                servers.append(http.server.ThreadingHTTPServer((h, port), Answer))
        except OSError:  # taken on another address: another port
            for s in servers:
                s.server_close()
            continue
        for s in servers:
            threading.Thread(target=s.serve_forever, daemon=True).start()
        return port, servers
    raise tycho.Failure("no port free on every one of %s" % HOSTS)


def call(srv, host, port, status=200):
    r = tycho.request(srv.public, path="/call/%s/%d/%d" % (host, port, status), timeout=10 * tycho.SLOW)
    check(r.status == 200 and b'"status":%d' % status in r.body, "call %s: %r" % (host, r))


def counts(srv):
    """{(host, status_class): count} of the outbound histogram on /metrics."""
    out = subprocess.run(["curl", "-sS", "--fail", "--max-time", str(10 * tycho.SLOW),
                          "http://%s:%d/metrics" % srv.admin], capture_output=True, check=False)
    check(out.returncode == 0, "curl /metrics: %r" % out.stderr)
    text = out.stdout.decode()
    tycho.promtool_check(text)
    found = {}
    for m in re.finditer(r'^%s\{host="([^"]*)",status_class="([^"]*)"\} (\S+)$' % METRIC, text, re.M):
        found[(m.group(1), m.group(2))] = float(m.group(3))
    return found


def warnings(srv):
    return [r for r in srv.records() if "TYCHO_HTTP_CLIENT_MAX_HOSTS" in r.get("msg", "")]


def bad_value(routes, value, why):
    p = subprocess.run([tycho.BIN, "serve", "--listen", "127.0.0.1:0", "--admin-listen", "127.0.0.1:0",
                        "--routes", routes, "--no-reload"],
                       env=dict(os.environ, TYCHO_HTTP_CLIENT_MAX_HOSTS=value),
                       capture_output=True, timeout=30 * tycho.SLOW)
    err = p.stderr.decode()
    want = 'tycho: TYCHO_HTTP_CLIENT_MAX_HOSTS: expected a whole number from 0 to 10000, got "%s"' % why
    check(p.returncode == 2 and want in err, "%r: rc %d, stderr %r" % (value, p.returncode, err))


def main():
    routes = tempfile.mkdtemp(prefix="tycho-client-hosts-")
    port, servers = peers()
    try:
        tycho.write(os.path.join(routes, "call.lua"), ROUTE)
        with tycho.Server(workers=1, routes=routes, env={"TYCHO_HTTP_CLIENT_MAX_HOSTS": "3"}) as srv:
            for h in HOSTS[:3]:
                call(srv, h, port)
            check(not warnings(srv), "a warning before the bound: %r" % warnings(srv))
            call(srv, HOSTS[3], port)              # the fourth: "other"
            call(srv, HOSTS[4], port, status=503)  # its status class is kept
            call(srv, HOSTS[5], port)
            call(srv, HOSTS[0], port, status=503)  # a known host keeps its name, a new class too
            got = counts(srv)
            want = {(HOSTS[0], "2xx"): 1, (HOSTS[1], "2xx"): 1, (HOSTS[2], "2xx"): 1,
                    ("other", "2xx"): 2, ("other", "5xx"): 1, (HOSTS[0], "5xx"): 1}
            check(got == want, "series: %r, want %r" % (got, want))
            w = srv.wait_log(lambda r: "TYCHO_HTTP_CLIENT_MAX_HOSTS" in r.get("msg", ""), 5)
            check(w and w.get("level") == "warn" and w.get("host") == HOSTS[3] and w.get("max_hosts") == 3,
                  "the warn line: %r" % w)
            check(len(warnings(srv)) == 1, "one warn line, not %d" % len(warnings(srv)))
            check(srv.stop() == 0, "clean exit")

        # unset: 100 a worker; six hosts keep their names
        with tycho.Server(workers=1, routes=routes) as srv:
            for h in HOSTS:
                call(srv, h, port)
            got = counts(srv)
            check(got == {(h, "2xx"): 1 for h in HOSTS}, "default bound: %r" % got)
            check(not warnings(srv), "a warning under the default bound: %r" % warnings(srv))
            check(srv.stop() == 0, "clean exit")

        # 0: every host is "other"
        with tycho.Server(workers=1, routes=routes, env={"TYCHO_HTTP_CLIENT_MAX_HOSTS": "0"}) as srv:
            call(srv, HOSTS[0], port)
            check(counts(srv) == {("other", "2xx"): 1}, "bound 0: %r" % counts(srv))
            check(srv.stop() == 0, "clean exit")

        bad_value(routes, "lots", "lots")
        bad_value(routes, "10001", "10001")
        bad_value(routes, "-1", "-1")
        bad_value(routes, " 2.5 ", "2.5")
        print("host label bounded: 3 hosts named, the rest \"other\"; bad values exit 2")
    finally:
        for s in servers:
            s.shutdown()
            s.server_close()
        shutil.rmtree(routes, ignore_errors=True)


if __name__ == "__main__":
    tycho.run_main(main)
