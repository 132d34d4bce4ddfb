"""What a route and the access log see of a request, over raw sockets
against the real binary: req.client_ip behind a trusted proxy when
X-Forwarded-For comes as several field lines; the access line's user_agent;
the access line of a request the engine rejected (413, 414, 431), joined to
it by its request id. Run by
test_http_request_view.sh with /usr/bin/python3."""
import json
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import tycho  # noqa: E402
from tycho import check  # noqa: E402


def seen(srv, headers):
    """The /request route's view of a GET with these header lines."""
    r = tycho.request(srv.public, path="/request", headers=headers)
    check(r.status == 200, "/request answered %r" % r)
    return json.loads(r.body)


def test_forwarded_for_lines(srv):
    """A proxy that appends its own X-Forwarded-For line (HAProxy's option
    forwardfor) after the client's: the lines are one list (RFC 9110 5.3),
    so the client's line cannot name the client."""
    one = seen(srv, [("X-Forwarded-For", "6.6.6.6, 9.9.9.9")])
    two = seen(srv, [("X-Forwarded-For", "6.6.6.6"), ("X-Forwarded-For", "9.9.9.9")])
    check(one["client_ip"] == "9.9.9.9", "one line: %r" % one)
    check(two["client_ip"] == "9.9.9.9", "two lines: %r" % two)


def access_line(srv, headers):
    """The access line of a GET /request with these header lines."""
    r = tycho.request(srv.public, path="/request", headers=headers)
    rid = r.header("X-Request-Id")
    line = srv.wait_log(lambda x: x.get("msg") == "access" and x.get("request_id") == rid,
                        5 * tycho.SLOW)
    check(line, "no access line for %s" % rid)
    return line


def test_user_agent(srv):
    """user_agent is the request's User-Agent, and null (not "") without one:
    an empty header and no header stay apart."""
    check(access_line(srv, [("User-Agent", "probe/1.0")])["user_agent"] == "probe/1.0",
          "User-Agent: probe/1.0")
    check(access_line(srv, [("User-Agent", "")])["user_agent"] == "", "an empty User-Agent")
    line = access_line(srv, [])
    check("user_agent" in line and line["user_agent"] is None, "no User-Agent: %r" % line)


def rejected(srv, data, status):
    """Sends data, expects status and Connection: close; the response's
    X-Request-Id and the access line carrying it (None when there is none)."""
    c = tycho.Conn(srv.public)
    try:
        c.send(data)
        r = c.read_response()
    finally:
        c.close()
    check(r is not None and r.status == status, "wanted %d, got %r" % (status, r))
    check(r.header("Connection") == "close", "a rejection closes: %r" % r.raw)
    rid = r.header("X-Request-Id")
    check(rid, "no X-Request-Id on %r" % r.raw)
    line = srv.wait_log(lambda x: x.get("msg") == "access" and x.get("status") == status
                        and x.get("request_id") == rid, 5 * tycho.SLOW)
    return rid, line


def test_rejected_access_lines(srv):
    """The access line of a rejected request carries the request id that
    went back to the client (and is on the "request rejected" line), and the
    method and path once the request line was read."""
    rid, line = rejected(srv, b"POST /request?q=1 HTTP/1.1\r\nHost: t\r\nContent-Length: 5000\r\n\r\n", 413)
    check(line, "no access line with request_id %s for the 413" % rid)
    check(line["method"] == "POST" and line["path"] == "/request", "413 access line %r" % line)
    check(srv.wait_log(lambda x: x.get("msg") == "request rejected" and x.get("request_id") == rid),
          "no request rejected line for %s" % rid)
    # the client's own id, as for any request
    rid, line = rejected(srv, b"POST /r HTTP/1.1\r\nHost: t\r\nX-Request-Id: big-1\r\n"
                              b"Content-Length: 5000\r\n\r\n", 413)
    check(rid == "big-1" and line, "413 with X-Request-Id: %s, %r" % (rid, line))
    # nothing of the request line was kept: no method, no path, but the id
    rid, line = rejected(srv, b"GET /" + b"a" * 3000 + b" HTTP/1.1\r\nHost: t\r\n\r\n", 414)
    check(line and line["method"] is None, "414 access line %r" % line)
    rid, line = rejected(srv, b"GET / HTTP/1.1\r\nHost: t\r\nX: " + b"v" * 9000 + b"\r\n\r\n", 431)
    check(line, "no access line with request_id %s for the 431" % rid)


def main():
    env = {"TYCHO_MAX_BODY_BYTES": 1024, "TYCHO_MAX_URI_BYTES": 2048, "TYCHO_MAX_HEADER_BYTES": 8192}
    with tycho.Server(args=["--trusted-proxies", "127.0.0.1/32"], env=env) as srv:
        for t in (test_forwarded_for_lines, test_user_agent, test_rejected_access_lines):
            t(srv)
            print("%s ok" % t.__name__)
        check(srv.stop() == 0, "clean exit")


if __name__ == "__main__":
    tycho.run_main(main)
