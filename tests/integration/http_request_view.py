"""What a route sees of a request, over raw sockets against the real binary:
req.client_ip behind a trusted proxy when X-Forwarded-For comes as several
field lines. Run by test_http_request_view.sh with /usr/bin/python3."""
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


def main():
    with tycho.Server(args=["--trusted-proxies", "127.0.0.1/32"]) as srv:
        for t in (test_forwarded_for_lines,):
            t(srv)
            print("%s ok" % t.__name__)
        check(srv.stop() == 0, "clean exit")


if __name__ == "__main__":
    tycho.run_main(main)
