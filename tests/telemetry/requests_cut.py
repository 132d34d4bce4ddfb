"""Requests cut before their answer, against the real binary with raw socket
clients: each counts once in tycho_http_requests_cut_total{route,reason}
(docs/telemetry.md, Metrics) and never in tycho_http_requests_total, while a
request the engine answers itself (408, 413, 431) counts there and not as
cut. Every reason shows at 0 in a fresh scrape. (The drain timeout's cuts
happen at shutdown; test_requests_cut_drain.sh reads them from the final
remote write.) Run by test_requests_cut.sh with /usr/bin/python3."""
import os
import re
import socket
import struct
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import tycho  # noqa: E402
from tycho import check  # noqa: E402

REASONS = ("client_closed", "send_timeout", "drain_timeout")
BIG = 16 << 20  # more than the kernel buffers on both sides hold
SAMPLE = re.compile(r'^([a-z_]+)\{([^}]*)\} (\S+)$')


def scrape(srv):
    """{(name, frozenset of label pairs): value} of every labelled sample."""
    r = tycho.request(srv.admin, path="/metrics")
    check(r.status == 200, "/metrics answered %d" % r.status)
    out = {}
    for line in r.body.decode().splitlines():
        m = SAMPLE.match(line)
        if m:
            labels = frozenset(re.findall(r'([a-z_]+)="((?:[^"\\]|\\.)*)"', m.group(2)))
            out[(m.group(1), labels)] = float(m.group(3))
    return out


def cuts(samples):
    """{(route, reason): count} of tycho_http_requests_cut_total."""
    return {(dict(k[1])["route"], dict(k[1])["reason"]): v for k, v in samples.items()
            if k[0] == "tycho_http_requests_cut_total"}


def answered(samples):
    """{(route, status): count} of tycho_http_requests_total."""
    out = {}
    for k, v in samples.items():
        if k[0] == "tycho_http_requests_total":
            d = dict(k[1])
            out[(d["route"], d["status"])] = out.get((d["route"], d["status"]), 0) + v
    return out


def wait_cut(srv, route, reason, want, timeout=5.0):
    """Scrapes until the cut counter of (route, reason) is want; the samples."""
    end = time.time() + timeout * tycho.SLOW
    while True:
        s = scrape(srv)
        got = cuts(s).get((route, reason))
        if got == want:
            return s
        check(time.time() < end, "cut{route=%r,reason=%r} = %r, want %r; all cuts: %r"
              % (route, reason, got, want, cuts(s)))
        time.sleep(0.1)


def access_line(srv, pred, what):
    line = srv.wait_log(lambda r: r.get("msg") == "access" and pred(r), 5 * tycho.SLOW)
    check(line, "no access line for %s" % what)
    return line


def reset(sock):
    """Closes with a RST (SO_LINGER 0), as a client that gives up does."""
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    sock.close()


def test_fresh_scrape():
    """Every reason is there at 0 before any request (rate() sees the first)."""
    with tycho.Server() as srv:
        c = cuts(scrape(srv))
        for reason in REASONS:
            check(c.get(("", reason)) == 0, "fresh scrape: cut{reason=%r} = %r (all: %r)"
                  % (reason, c.get(("", reason)), c))
        check(srv.stop() == 0, "clean exit")


def test_client_closed():
    """The client goes away while its handler runs, while its request is
    still arriving (head, then body) and while its response is being
    written: one cut each, with the route once one matched, never an
    answered request; and a client that closes an idle keep-alive
    connection cuts nothing."""
    with tycho.Server() as srv:
        # an idle keep-alive connection closed after one answered request
        c = tycho.Conn(srv.public)
        c.send(b"GET /json HTTP/1.1\r\nHost: t\r\n\r\n")
        check(c.read_response().status == 200, "GET /json")
        c.close()

        # handler running, the client resets
        c = tycho.Conn(srv.public)
        c.send(b"GET /sleep/1500 HTTP/1.1\r\nHost: t\r\nX-Request-Id: cut-handler\r\n\r\n")
        time.sleep(0.3)
        reset(c.sock)
        s = wait_cut(srv, "/sleep/:ms", "client_closed", 1)
        line = access_line(srv, lambda r: r.get("request_id") == "cut-handler", "cut-handler")
        check(line["status"] == 0 and line["route"] == "/sleep/:ms", "access line %r" % line)

        # head arriving: no route matched yet
        c = tycho.Conn(srv.public)
        c.send(b"GET /json HTTP/1.1\r\nHost: t\r\nX-Req")
        time.sleep(0.2)
        c.close()
        wait_cut(srv, "", "client_closed", 1)
        # body arriving: its head was read, so the access line names it
        c = tycho.Conn(srv.public)
        c.send(b"POST /echo HTTP/1.1\r\nHost: t\r\nX-Request-Id: cut-body\r\n"
               b"Content-Length: 100\r\n\r\nabc")
        time.sleep(0.2)
        reset(c.sock)
        wait_cut(srv, "", "client_closed", 2)
        line = access_line(srv, lambda r: r.get("request_id") == "cut-body", "cut-body")
        check(line["status"] == 0 and line["method"] == "POST" and line["path"] == "/echo",
              "access line of a body cut while arriving %r" % line)

        # response being written: the client reads a little, then resets
        sock = socket.create_connection(srv.public)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 128 << 10)
        sock.sendall(b"GET /big?n=%d HTTP/1.1\r\nHost: t\r\nX-Request-Id: cut-write\r\n\r\n" % BIG)
        sock.settimeout(5 * tycho.SLOW)
        check(sock.recv(65536), "the response started")
        time.sleep(0.3)
        reset(sock)
        s = wait_cut(srv, "/big", "client_closed", 1)
        line = access_line(srv, lambda r: r.get("request_id") == "cut-write", "cut-write")
        check(line["status"] == 0 and 0 < line["bytes_out"] < BIG, "access line %r" % line)

        # handler running, the client closes (FIN): as a half-close, it is
        # answered (RFC 9112 9.6), and tycho's kernel takes the small answer
        c = tycho.Conn(srv.public)
        c.send(b"GET /sleep/300 HTTP/1.1\r\nHost: t\r\nX-Request-Id: fin-handler\r\n\r\n")
        c.sock.shutdown(socket.SHUT_WR)
        c.close()
        line = access_line(srv, lambda r: r.get("request_id") == "fin-handler", "fin-handler")
        check(line["status"] == 200, "access line of a request whose client sent FIN %r" % line)

        # no double count: the cut requests are not answered ones; the
        # answered ones are
        s = scrape(srv)
        a = answered(s)
        check(a == {("/json", "200"): 1, ("/sleep/:ms", "200"): 1}, "answered requests: %r" % a)
        c = cuts(s)
        check(c == {("", "client_closed"): 2, ("", "send_timeout"): 0, ("", "drain_timeout"): 0,
                    ("/sleep/:ms", "client_closed"): 1, ("/big", "client_closed"): 1},
              "cut requests: %r" % c)
        check(srv.stop() == 0, "clean exit")


def test_send_timeout():
    """A client that stops reading its response: cut at TYCHO_SEND_TIMEOUT,
    counted with its route."""
    with tycho.Server(env={"TYCHO_SEND_TIMEOUT": 1}) as srv:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 128 << 10)
        sock.connect(srv.public)
        sock.sendall(b"GET /big?n=%d HTTP/1.1\r\nHost: t\r\n\r\n" % BIG)
        s = wait_cut(srv, "/big", "send_timeout", 1, timeout=8)
        sock.close()
        check(answered(s) == {}, "answered requests: %r" % answered(s))
        check(cuts(s).get(("", "client_closed")) == 0, "cuts: %r" % cuts(s))
        check(srv.stop() == 0, "clean exit")


def test_engine_answers_are_not_cuts():
    """408 (header timeout), 413 (body too large), 431 (header too large):
    answers tycho writes itself, so answered requests, not cut ones."""
    env = {"TYCHO_HEADER_TIMEOUT": 1, "TYCHO_MAX_BODY_BYTES": 1024, "TYCHO_MAX_HEADER_BYTES": 4096}
    with tycho.Server(env=env) as srv:
        c = tycho.Conn(srv.public)
        c.send(b"GET /json HTTP/1.1\r\nHo")
        r = c.read_response(timeout=5)
        check(r is not None and r.status == 408, "408 expected: %r" % r)
        c.close()
        r = tycho.request(srv.public, "POST", "/echo", body=b"x" * 4096)
        check(r.status == 413, "413 expected: %r" % r)
        r = tycho.request(srv.public, "GET", "/json", headers=[("X-Big", "y" * 8192)])
        check(r.status == 431, "431 expected: %r" % r)
        end = time.time() + 5 * tycho.SLOW
        while True:
            s = scrape(srv)
            a = answered(s)
            if sum(a.values()) >= 3 or time.time() > end:
                break
            time.sleep(0.1)
        check(a.get(("", "408")) == 1 and a.get(("", "413")) == 1 and a.get(("", "431")) == 1,
              "answered requests: %r" % a)
        check(all(v == 0 for v in cuts(s).values()), "cut requests: %r" % cuts(s))
        check(srv.stop() == 0, "clean exit")


def main():
    for t in (test_fresh_scrape, test_client_closed, test_send_timeout,
              test_engine_answers_are_not_cuts):
        t0 = time.time()
        t()
        print("%s ok (%.1fs)" % (t.__name__, time.time() - t0))


if __name__ == "__main__":
    tycho.run_main(main)
