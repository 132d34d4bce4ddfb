#!/usr/bin/env python3
"""tycho.metrics and tycho.trace against a real `tycho serve`
(routes: tests/lua/telemetry_routes):

1. One request -> exactly one SERVER span line (TYCHO_TRACES_STDOUT=1), its
   child span, one access-log line and the handler's log line, all with the
   same trace id (and the child's span id on the line logged inside it);
   the built-in request counter and the route's own Lua metrics +1 on the
   admin /metrics (summed over two workers), and `promtool check metrics`
   has nothing to say about the exposition.
2. The SERVER span's attributes, as the OpenTelemetry HTTP conventions
   name them, for a plain request, one through a trusted proxy
   (X-Forwarded-For, X-Forwarded-Proto, X-Forwarded-Host; an invalid
   X-Forwarded-Host is ignored for Host), an unknown method, a 5xx, an IPv6
   Host, and a request the client abandons before its answer.
3. A request cut before its answer — the client resets the connection, or
   the drain timeout closes it at shutdown — has an access line with status
   0 and a SERVER span with error.type client_closed / drain_timeout; the
   drain timeout's log line counts the connections closed and requests cut.
4. stdout a pipe nobody reads: requests keep answering fast while every one
   of them logs ~4 KB, and the dropped lines are counted.
"""
import json
import os
import re
import signal
import socket
import statistics
import struct
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import tycho  # noqa: E402
from tycho import check  # noqa: E402

ROUTES = os.path.join(os.path.dirname(os.path.abspath(__file__)), "telemetry_routes")
SAMPLE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$')
LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"')


def scrape(addr):
    r = tycho.request(addr, "GET", "/metrics")
    check(r.status == 200, "/metrics answered %d" % r.status)
    return r.body.decode()


def value(text, name, **labels):
    """The sample's value, or None when the exposition has no such series."""
    for line in text.splitlines():
        m = SAMPLE.match(line)
        if not m or m.group(1) != name:
            continue
        if dict(LABEL.findall(m.group(2) or "")) == labels:
            return float(m.group(3))
    return None


def correlated():
    env = {"TYCHO_TRACES_STDOUT": "1"}
    with tycho.Server(env=env, workers=2, routes=ROUTES) as srv:
        before = scrape(srv.admin)
        check(value(before, "e2e_visits_total", action="hello") is None,
              "a labelled Lua metric shows no series before its first update")
        check(value(before, "tycho_http_requests_total", method="GET", route="/hello",
                    status="200") is None, "no request counted yet")

        r = tycho.request(srv.public, "GET", "/hello", headers=[("X-Request-Id", "e2e-req-1")])
        check(r.status == 200, "GET /hello -> %d" % r.status)
        body = json.loads(r.body)
        tid, sid, child = body["trace_id"], body["span_id"], body["child"]

        server = srv.wait_log(lambda x: x.get("kind") == "SERVER" and x.get("trace_id") == tid,
                              5 * tycho.SLOW)
        check(server, "no SERVER span line for trace %s" % tid)
        check(srv.wait_log(lambda x: x.get("msg") == "access" and x.get("trace_id") == tid,
                           5 * tycho.SLOW), "no access line for trace %s" % tid)
        time.sleep(0.5 * tycho.SLOW)  # anything duplicated would be out by now
        recs = [x for x in srv.records() if x.get("trace_id") == tid]
        servers = [x for x in recs if x.get("kind") == "SERVER"]
        check(len(servers) == 1, "%d SERVER span lines for one request" % len(servers))
        check(servers[0]["span_id"] == sid and servers[0]["name"] == "GET /hello",
              "server span %r" % servers[0])
        access = [x for x in recs if x.get("msg") == "access"]
        check(len(access) == 1, "%d access lines for one request" % len(access))
        check(access[0]["span_id"] == sid and access[0]["request_id"] == "e2e-req-1",
              "access line %r" % access[0])
        work = [x for x in recs if x.get("kind") == "INTERNAL" and x.get("name") == "work"]
        check(len(work) == 1 and work[0]["span_id"] == child and work[0]["parent_span_id"] == sid,
              "child span lines %r" % work)
        check(work[0]["attributes"].get("e2e.kind") == "greeting", "child attributes %r" % work[0])
        logged = [x for x in recs if x.get("msg") == "e2e: in the child span"]
        check(len(logged) == 1, "%d handler log lines" % len(logged))
        check(logged[0]["span_id"] == child and logged[0]["request_id"] == "e2e-req-1"
              and logged[0]["route"] == "/hello", "handler log line %r" % logged[0])

        after = scrape(srv.admin)
        n = value(after, "tycho_http_requests_total", method="GET", route="/hello", status="200")
        check(n == 1, "tycho_http_requests_total{/hello} = %r after one request" % n)
        check(value(after, "e2e_visits_total", action="hello") == 1,
              "e2e_visits_total = %r" % value(after, "e2e_visits_total", action="hello"))
        check(value(after, "e2e_work_seconds_count", kind="greeting") == 1, "histogram count")
        check(value(after, "e2e_work_seconds_bucket", kind="greeting", le="0.01") == 1,
              "histogram bucket")
        check("# TYPE e2e_visits_total counter" in after and
              "# HELP e2e_visits_total Visits by action." in after, "HELP/TYPE of the Lua metric")
        tycho.promtool_check(after)

        # more requests, new connections: both workers' shards add up
        for _ in range(40):
            check(tycho.request(srv.public, "GET", "/hello").status == 200, "GET /hello")
        final = scrape(srv.admin)
        check(value(final, "e2e_visits_total", action="hello") == 41,
              "e2e_visits_total = %r after 41 requests" % value(final, "e2e_visits_total",
                                                                  action="hello"))
        tycho.promtool_check(final)
        check(srv.stop() == 0, "exit status")


def server_span_attributes():
    env = {"TYCHO_TRACES_STDOUT": "1", "TYCHO_TRUSTED_PROXIES": "127.0.0.1/32"}
    with tycho.Server(env=env, routes=ROUTES) as srv:
        sent = []

        def span_of(method, path, headers, status):
            rid = "attrs-%d" % len(sent)
            sent.append(rid)
            if not any(k == "Host" for k, _ in headers):
                headers = headers + [("Host", "t")]  # no port: the scheme's is the span's
            r = tycho.request(srv.public, method, path, headers=[("X-Request-Id", rid)] + headers)
            check(r.status == status, "%s %s -> %d, want %d" % (method, path, r.status, status))
            sp = srv.wait_log(lambda x: x.get("kind") == "SERVER" and
                              x.get("attributes", {}).get("http.request.id") == rid,
                              5 * tycho.SLOW)
            check(sp, "no SERVER span for %s %s" % (method, path))
            return sp

        base = {"url.scheme": "http", "client.address": "127.0.0.1", "server.address": "t",
                "server.port": 80, "network.protocol.version": "1.1"}
        sp = span_of("GET", "/items/42?full=1", [("User-Agent", "e2e/1.0")], 200)
        want = dict(base, **{"http.request.method": "GET", "url.path": "/items/42",
                             "url.query": "full=1", "http.route": "/items/:id",
                             "user_agent.original": "e2e/1.0", "http.request.id": "attrs-0",
                             "http.response.status_code": 200})
        check(sp["name"] == "GET /items/:id" and sp["attributes"] == want
              and sp["status"] == {"code": "UNSET"}, "plain request's span %r" % sp)

        # a signed URL's credentials never reach the span (OTel HTTP conventions)
        sp = span_of("GET", "/items/43?AWSAccessKeyId=AKIAIOSFODNN7EXAMPLE&X-Amz-Signature=dead"
                     "&full=1", [], 200)
        check(sp["attributes"]["url.query"] == "AWSAccessKeyId=REDACTED&X-Amz-Signature=REDACTED"
              "&full=1", "signed query's span %r" % sp["attributes"].get("url.query"))
        # ... also when a name is percent-encoded: req.query decodes it
        sp = span_of("GET", "/items/46?x-amz-signatur%65=dead&Signatur%65=beef&full=1", [], 200)
        check(sp["attributes"]["url.query"] == "x-amz-signatur%65=REDACTED&Signatur%65=REDACTED"
              "&full=1", "encoded names' span %r" % sp["attributes"].get("url.query"))

        # ... and an OAuth 2.0 bearer token sent as a query parameter (RFC 6750)
        sp = span_of("GET", "/items/47?access_token=mF_9.B5f-4.1JqM&full=1", [], 200)
        check(sp["attributes"]["url.query"] == "access_token=REDACTED&full=1",
              "bearer token's span %r" % sp["attributes"].get("url.query"))

        # W3C Trace Context: tracestate in two field lines is one list; a
        # traceparent sent twice is invalid, and the trace starts anew
        tid, parent = "4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7"
        tp = ("traceparent", "00-%s-%s-01" % (tid, parent))
        sp = span_of("GET", "/items/44", [tp, ("tracestate", "a=1"), ("tracestate", "b=2")], 200)
        check(sp["trace_id"] == tid and sp.get("trace_state") == "a=1,b=2",
              "two tracestate lines: %r" % {k: sp.get(k) for k in ("trace_id", "trace_state")})
        other = ("traceparent", "00-%s-%s-01" % ("5" * 32, parent))
        sp = span_of("GET", "/items/45", [tp, other, ("tracestate", "a=1")], 200)
        check(sp["trace_id"] not in (tid, "5" * 32) and not sp.get("parent_span_id")
              and not sp.get("trace_state"), "two traceparents continued a trace: %r" % sp)

        # through the load balancer: the client's address and scheme, Host's port
        sp = span_of("GET", "/items/7", [("X-Forwarded-For", "203.0.113.9"),
                                          ("X-Forwarded-Proto", "https")], 200)
        a = sp["attributes"]
        check(a["client.address"] == "203.0.113.9" and a["url.scheme"] == "https"
              and a["server.port"] == 443, "proxied request's span %r" % a)
        # a proxy that says which host the client asked for
        sp = span_of("GET", "/items/8", [("X-Forwarded-For", "203.0.113.9"),
                                          ("X-Forwarded-Proto", "https"),
                                          ("X-Forwarded-Host", "api.example.com")], 200)
        check(sp["attributes"]["server.address"] == "api.example.com"
              and sp["attributes"]["server.port"] == 443, "forwarded host's span %r" % sp)
        # ... but not a value that is no host[:port] (as Host is checked): Host's
        for bad in ("api.example.com/x?y", "evil.example:8o", "a\"b<c>"):
            sp = span_of("GET", "/items/9", [("X-Forwarded-Proto", "https"),
                                              ("X-Forwarded-Host", bad), ("Host", "t:8443")], 200)
            check(sp["attributes"]["server.address"] == "t"
                  and sp["attributes"]["server.port"] == 8443,
                  "invalid forwarded host %r's span %r" % (bad, sp["attributes"]))
        # ... and the proxy (the socket's peer) as network.peer.*, absent
        # above where the peer is the client
        port = a.get("network.peer.port")
        check(a.get("network.peer.address") == "127.0.0.1" and isinstance(port, int)
              and 0 < port < 65536, "proxied request's peer %r" % a)

        # a method outside RFC 9110: _OTHER, the span's {method} HTTP
        sp = span_of("PROPFIND", "/items/7", [], 405)
        a = sp["attributes"]
        check(sp["name"].split(" ")[0] == "HTTP" and a["http.request.method"] == "_OTHER"
              and a["http.request.method_original"] == "PROPFIND"
              and "error.type" not in a, "unknown method's span %r" % sp)

        # a failing handler: 500, error.type, status ERROR
        sp = span_of("GET", "/boom", [], 500)
        a = sp["attributes"]
        check(a["error.type"] == "500" and a["http.response.status_code"] == 500
              and sp["status"]["code"] == "ERROR", "failing route's span %r" % sp)

        # an IPv6 literal in Host: no brackets in server.address
        sp = span_of("GET", "/items/1", [("Host", "[2001:db8::1]:8443")], 200)
        a = sp["attributes"]
        check(a["server.address"] == "2001:db8::1" and a["server.port"] == 8443,
              "IPv6 Host's span %r" % a)

        # the client resets the connection before the answer (a FIN alone
        # may be a half-close: the answer is still sent): error.type, no
        # status code
        c = tycho.Conn(srv.public)
        c.send(b"GET /slow HTTP/1.1\r\nHost: t\r\nX-Request-Id: attrs-gone\r\n\r\n")
        time.sleep(0.2)
        c.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        c.close()
        sp = srv.wait_log(lambda x: x.get("kind") == "SERVER" and
                          x.get("attributes", {}).get("http.request.id") == "attrs-gone",
                          5 * tycho.SLOW)
        check(sp, "no SERVER span for the abandoned request")
        a = sp["attributes"]
        check(a.get("error.type") == "client_closed" and "http.response.status_code" not in a
              and a.get("http.route") == "/slow"
              and sp["status"] == {"code": "ERROR", "message": "client closed the connection"},
              "abandoned request's span %r" % sp)
        check(srv.stop() == 0, "exit status")


def cut_requests():
    env = {"TYCHO_TRACES_STDOUT": "1", "TYCHO_DRAIN_TIMEOUT": "1"}
    with tycho.Server(env=env, routes=ROUTES) as srv:
        def access(rid):
            return srv.wait_log(lambda x: x.get("msg") == "access" and x.get("request_id") == rid,
                                5 * tycho.SLOW)

        def span(rid):
            return srv.wait_log(lambda x: x.get("kind") == "SERVER" and
                                x.get("attributes", {}).get("http.request.id") == rid,
                                5 * tycho.SLOW)

        c = tycho.Conn(srv.public)
        c.send(b"GET /slow HTTP/1.1\r\nHost: t\r\nX-Request-Id: cut-by-client\r\n\r\n")
        time.sleep(0.2)
        c.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        c.close()
        line = access("cut-by-client")
        check(line and line["status"] == 0 and line["route"] == "/slow" and line["bytes_out"] == 0
              and line["bytes_in"] > 0, "access line of a request the client reset: %r" % line)

        # a handler still waiting when the drain timeout expires
        c = tycho.Conn(srv.public)
        c.send(b"GET /slow?s=4 HTTP/1.1\r\nHost: t\r\nX-Request-Id: cut-at-drain\r\n\r\n")
        idle = tycho.Conn(srv.public)  # answered nothing yet: closed in the drain's grace
        time.sleep(0.2)
        srv.signal(signal.SIGTERM)
        check(srv.wait(10) == 0, "exit status after the drain timeout")
        line = srv.wait_log(lambda x: "drain timeout" in x.get("msg", ""), 1)
        check(line and line.get("requests_cut") == 1 and line.get("connections_closed") == 1,
              "drain timeout line counts what it cut: %r" % line)
        line = access("cut-at-drain")
        check(line and line["status"] == 0 and line["route"] == "/slow" and line["bytes_out"] == 0,
              "access line of the request cut at the drain timeout: %r" % line)
        sp = span("cut-at-drain")
        a = sp["attributes"] if sp else {}
        check(a.get("error.type") == "drain_timeout" and "http.response.status_code" not in a
              and sp["status"]["code"] == "ERROR",
              "span of the request cut at the drain timeout: %r" % sp)
        c.close()
        idle.close()


def blocked_stdout():
    """stdout is a pipe nobody reads after the first line."""
    e = {k: v for k, v in os.environ.items() if not k.startswith("TYCHO_")}
    e.update(TYCHO_RELOAD="off", TYCHO_ROUTES=ROUTES, TYCHO_TRACES_STDOUT="1",
             E2E_LOG_PADDING="4000",
             TYCHO_DATA_DIR=os.path.join(os.environ.get("TMPDIR", "/tmp"),
                                         "tycho-test-%d" % os.getpid()))
    cmd = [tycho.BIN, "serve", "--listen", "127.0.0.1:0", "--admin-listen", "127.0.0.1:0",
           "--workers", "1"]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=e,
                            start_new_session=True)
    try:
        first = None
        deadline = time.time() + 10 * tycho.SLOW
        while time.time() < deadline and not first:
            line = proc.stdout.readline()
            check(line, "tycho exited before listening")
            try:
                rec = json.loads(line)
            except ValueError:
                continue
            if rec.get("msg") == "listening":
                first = rec
        check(first, "no listening line")
        public, admin = tycho._addr(first["public"]), tycho._addr(first["admin"])
        # from here on nobody reads stdout: the pipe (64 KiB) fills within
        # the first ~15 requests, the log rings right after

        c = tycho.Conn(public)
        lat = []
        t0 = time.time()
        for _ in range(3000):
            s = time.time()
            c.send("GET /hello HTTP/1.1\r\nHost: t\r\n\r\n")
            r = c.read_response()
            lat.append(time.time() - s)
            check(r is not None and r.status == 200, "GET /hello -> %r" % r)
        total = time.time() - t0
        c.close()
        lat.sort()
        p50, p99, worst = statistics.median(lat), lat[int(len(lat) * 0.99)], lat[-1]
        print("blocked stdout: 3000 requests in %.2fs, p50 %.2fms p99 %.2fms max %.1fms"
              % (total, p50 * 1e3, p99 * 1e3, worst * 1e3))
        check(worst < 1.0 * tycho.SLOW, "a request took %.2fs with stdout blocked" % worst)
        check(p99 < 0.05 * tycho.SLOW, "p99 %.1fms with stdout blocked" % (p99 * 1e3))
        check(total < 20 * tycho.SLOW, "3000 requests took %.1fs" % total)

        text = scrape(admin)  # the admin listener shares the thread that writes stdout
        dropped = value(text, "tycho_telemetry_dropped_total", signal="logs", reason="queue_full")
        check(dropped and dropped > 1000, "dropped log lines counted: %r" % dropped)
        check(value(text, "e2e_visits_total", action="hello") == 3000, "metrics kept counting")
    finally:
        proc.kill()
        proc.wait()
        proc.stdout.close()


def main():
    correlated()
    server_span_attributes()
    cut_requests()
    blocked_stdout()


if __name__ == "__main__":
    tycho.run_main(main)
