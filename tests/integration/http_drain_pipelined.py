"""Pipelined requests and the SIGTERM drain, against the real binary: every
request already read whole when the drain stops a connection's reading is
answered, in order, the last with Connection: close (server/http/server.h,
tycho_conn_drain); a partial one behind them gets no answer, not even a 4xx;
the usual Connection: close cases still end the connection where they did;
a client's reset still cancels its running handler; the drain timeout still
cuts a connection that keeps pipelining.
Run by test_http_drain_pipelined.sh with /usr/bin/python3."""
import os
import shutil
import signal
import socket
import struct
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import tycho  # noqa: E402
from tycho import check  # noqa: E402

# How long the first request's handler runs: the signal lands while it does.
FIRST_MS = int(1000 * tycho.SLOW)
SIGNAL_AFTER = 0.3 * tycho.SLOW

# POST /record/:ms sleeps, then appends its body and a newline to a file the
# test reads once tycho has exited: what the handlers ran, whatever the
# client saw.
RECORD_ROUTE = '''local time = require "tycho.time"
local path = %r
return {
  { "POST", "/record/:ms", function(req)
      time.sleep(tonumber(req.params.ms) / 1000)
      local f = assert(io.open(path, "a"))
      f:write(req.body, "\\n")
      f:close()
      return 200, { recorded = req.body }
  end },
}
'''


class Recording:
    """The integration routes plus POST /record/:ms, in a directory of their
    own; .bodies() is what the handlers recorded."""

    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="tycho-drain-")
        self.routes = os.path.join(self.dir, "routes")
        shutil.copytree(tycho.ROUTES, self.routes)
        self.path = os.path.join(self.dir, "recorded")
        tycho.write(os.path.join(self.routes, "record.lua"), RECORD_ROUTE % self.path)

    def bodies(self):
        try:
            with open(self.path) as f:
                return f.read().splitlines()
        except FileNotFoundError:
            return []

    def remove(self):
        shutil.rmtree(self.dir, ignore_errors=True)


def get(path, rid, extra=""):
    return ("GET %s HTTP/1.1\r\nHost: t\r\nX-Request-Id: %s\r\n%s\r\n" % (path, rid, extra)).encode()


def post(path, rid, body):
    return (b"POST %s HTTP/1.1\r\nHost: t\r\nX-Request-Id: %s\r\nContent-Length: %d\r\n\r\n"
            % (path.encode(), rid.encode(), len(body)) + body)


def post_chunked(path, rid, body):
    return (b"POST %s HTTP/1.1\r\nHost: t\r\nX-Request-Id: %s\r\nTransfer-Encoding: chunked\r\n\r\n"
            b"%x\r\n%s\r\n0\r\n\r\n" % (path.encode(), rid.encode(), len(body), body))


def start(env=None, routes=tycho.ROUTES):
    e = {"TYCHO_DRAIN_TIMEOUT": 20, "TYCHO_KEEPALIVE_TIMEOUT": 30}
    e.update(env or {})
    return tycho.Server(env=e, routes=routes)


def pipeline_then_signal(srv, data, after=SIGNAL_AFTER):
    """Sends data in one write on a new connection, then SIGTERM once the
    server has read it and the first handler runs; the connection."""
    c = tycho.Conn(srv.public, timeout=10)
    c.send(data)
    time.sleep(after)
    check(srv.proc.poll() is None, "tycho exited before the signal")
    srv.signal(signal.SIGTERM)
    return c


def read_answers(c, rids):
    """Reads one response per request id, in order; the responses (None for
    each one the connection closed before). A None id: the engine answers
    with an id of its own."""
    out = []
    for rid in rids:
        r = c.read_response(timeout=10)
        if r is not None and rid is not None:
            check(r.header("X-Request-Id") == rid, "answer out of order: %r for %s" % (r.raw, rid))
        out.append(r)
    return out


def check_keep_alive_then_close(answers, what):
    """Every answer present; only the last one says Connection: close."""
    check(all(r is not None for r in answers),
          "%s: answers %r (None: the connection closed first)" % (what, answers))
    for r in answers[:-1]:
        check(r.header("Connection") != "close",
              "%s: an answer before the last closes the connection: %r" % (what, r.raw))
    check(answers[-1].header("Connection") == "close",
          "%s: the last answer does not say Connection: close: %r" % (what, answers[-1].raw))


def test_three_pipelined_gets():
    """(a) Three requests in one write, the first sleeping when SIGTERM
    comes: all three are answered, only the last with Connection: close."""
    with start() as srv:
        rids = ["a1", "a2", "a3"]
        c = pipeline_then_signal(srv, get("/sleep/%d" % FIRST_MS, "a1") + get("/sleep/10", "a2") +
                                 get("/json", "a3"))
        answers = read_answers(c, rids)
        check_keep_alive_then_close(answers, "three pipelined GETs")
        check(all(r.status == 200 for r in answers), "statuses: %r" % answers)
        check(c.wait_closed(3), "the connection closes after the last answer")
        c.close()
        check(srv.wait(20) == 0, "exit 0")


def test_pipelined_posts_recorded():
    """(b) Pipelined POSTs (one chunked), each handler recording its body:
    every one ran and was answered, in order."""
    rec = Recording()
    try:
        with start(routes=rec.routes) as srv:
            bodies = [b"post-%d" % i for i in range(5)]
            data = post("/record/%d" % FIRST_MS, "b0", bodies[0])
            for i in range(1, 5):
                make = post_chunked if i == 2 else post
                data += make("/record/50", "b%d" % i, bodies[i])
            c = pipeline_then_signal(srv, data)
            answers = read_answers(c, ["b%d" % i for i in range(5)])
            check_keep_alive_then_close(answers, "pipelined POSTs")
            check(all(r.status == 200 for r in answers), "statuses: %r" % answers)
            check(c.wait_closed(3), "the connection closes after the last answer")
            c.close()
            check(srv.wait(20) == 0, "exit 0")
        got = rec.bodies()
        check(got == [b.decode() for b in bodies], "bodies recorded: %r" % got)
    finally:
        rec.remove()


def test_partial_request_behind():
    """(c) A partial POST behind the first request when the drain starts:
    the first is answered with Connection: close; the rest of the POST,
    sent after the signal, is not read: no answer, no 4xx, no handler."""
    rec = Recording()
    try:
        with start(routes=rec.routes) as srv:
            whole = post("/record/0", "c2", b"0123456789")
            cut = len(whole) - 7
            c = pipeline_then_signal(srv, get("/sleep/%d" % FIRST_MS, "c1") + whole[:cut])
            time.sleep(0.2 * tycho.SLOW)
            c.send(whole[cut:])  # while the first request's handler still runs
            r = c.read_response(timeout=10)
            check(r is not None and r.status == 200 and r.header("X-Request-Id") == "c1",
                  "the first request's answer: %r" % r)
            check(r.header("Connection") == "close", "the first answer closes: %r" % r.raw)
            check(c.wait_closed(3), "the connection closes with nothing more: %r" % c.buf[:200])
            c.close()
            check(srv.wait(20) == 0, "exit 0")
            check(not [x for x in srv.records() if x.get("msg") == "request rejected"],
                  "an engine error answered the partial request")
            check(not [x for x in srv.records() if x.get("request_id") == "c2"],
                  "the partial request was logged")
        check(rec.bodies() == [], "the partial POST ran: %r" % rec.bodies())
    finally:
        rec.remove()


def test_close_cases_still_close():
    """The usual Connection: close cases during the drain: the answer to
    the request that asks for it closes the connection, and nothing
    pipelined after it is answered or run. A whole request the parser
    refuses counts as whole: the answer before it keeps the connection
    open, its error closes it."""
    rec = Recording()
    try:
        with start(routes=rec.routes) as srv:
            first = get("/sleep/%d" % FIRST_MS, "d1")
            after = post("/record/0", "d-after", b"must-not-run")
            cases = [
                ("a request's Connection: close", get("/json", "d2", "Connection: close\r\n"), 200),
                ("HTTP/1.0 without keep-alive", b"GET /json HTTP/1.0\r\nX-Request-Id: d2\r\n\r\n", 200),
                # no route: 404 at once, the body left unread (close_after_response)
                ("Expect: 100-continue answered without its body",
                 b"POST /nope HTTP/1.1\r\nHost: t\r\nX-Request-Id: d2\r\nExpect: 100-continue\r\n"
                 b"Content-Length: 3\r\n\r\nabc", 404),
                # a whole request the parser refuses: its error answers it
                ("a malformed request (400)",
                 b"GET /json HTTP/1.1\r\nHost: t\r\nX-Request-Id: d2\r\nContent-Length: 1\r\n"
                 b"Content-Length: 2\r\n\r\n", 400),
            ]
            conns = []
            for what, second, status in cases:
                c = tycho.Conn(srv.public, timeout=10)
                c.send(first + second + after)
                conns.append((what, c, status))
            # the client's EOF: its last request is answered with close
            eof = tycho.Conn(srv.public, timeout=10)
            eof.send(first + get("/json", "d2"))
            eof.sock.shutdown(socket.SHUT_WR)
            conns.append(("the client's EOF", eof, 200))
            time.sleep(SIGNAL_AFTER)
            srv.signal(signal.SIGTERM)
            for what, c, status in conns:
                answers = read_answers(c, ["d1", "d2" if status != 400 else None])
                check_keep_alive_then_close(answers, what)
                check(answers[1].status == status, "%s: %r" % (what, answers[1].raw))
                check(c.wait_closed(3), "%s: closed after the answer, nothing more: %r" % (what, c.buf[:200]))
                c.close()
            check(srv.wait(20) == 0, "exit 0")
        check(rec.bodies() == [], "a request after a closing answer ran: %r" % rec.bodies())
    finally:
        rec.remove()


def test_client_reset_during_drain():
    """A client that resets its connection while the drain answers its
    pipelined requests: the running handler is cancelled at once (the
    socket is still read once the connection takes no more requests), the
    drain does not wait for it."""
    handler_ms = int(5000 * tycho.SLOW)
    with start() as srv:
        c = pipeline_then_signal(srv, get("/sleep/%d" % handler_ms, "r1") + get("/json", "r2"))
        time.sleep(0.2 * tycho.SLOW)
        c.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        c.close()  # a reset
        t_reset = time.time()
        rc = srv.wait(20)
        took = time.time() - t_reset
        check(rc == 0, "exit code %s" % rc)
        check(took < handler_ms / 2000.0, "the drain waited %.2fs for a handler whose client reset" % took)
        line = srv.wait_log(lambda x: x.get("msg") == "access" and x.get("request_id") == "r1", 1)
        check(line and line.get("status") == 0, "the cut request's access line: %r" % line)
        check(not srv.wait_log(lambda x: x.get("request_id") == "r2", 0.1),
              "the request behind it was answered")


def test_drain_timeout_cuts_pipelining():
    """(d) A connection that keeps pipelining (more than the drain timeout's
    worth, more sent after the signal) is answered until the drain timeout
    cuts it; tycho exits 0 at the timeout."""
    n = 40
    step_ms = int(250 * tycho.SLOW)
    drain_s = 1.5 * tycho.SLOW
    with start(env={"TYCHO_DRAIN_TIMEOUT": drain_s}) as srv:
        c = pipeline_then_signal(srv, b"".join(get("/sleep/%d" % step_ms, "e%d" % i) for i in range(n)),
                                 after=0.1 * tycho.SLOW)
        t_sig = time.time()
        more = 0
        try:
            for i in range(5):  # still pipelining after the signal: never read
                time.sleep(0.05)
                c.send(get("/json", "late%d" % i))
                more += 1
        except OSError:
            pass
        answered = []
        while True:
            try:
                r = c.read_response(timeout=10)
            except tycho.Failure as e:  # the cut may end a response's bytes
                check("truncated" in str(e), "reading the answers: %s" % e)
                break
            if r is None:
                break
            check(r.header("X-Request-Id") == "e%d" % len(answered), "order: %r" % r.raw)
            answered.append(r)
        rc = srv.wait(20)
        took = time.time() - t_sig
        print("drain timeout %.1fs: %d of %d pipelined answered (%d more sent after the signal), "
              "exit %s after %.2fs" % (drain_s, len(answered), n, more, rc, took))
        check(len(answered) >= 2, "more than the request in flight answered: %d" % len(answered))
        check(len(answered) < n, "the drain timeout cut the connection (%d answered)" % len(answered))
        check(all(r.header("Connection") != "close" for r in answered),
              "whole requests followed every answer: none says close")
        check(rc == 0, "exit code %s after the drain timeout" % rc)
        check(drain_s * 0.8 <= took <= drain_s + 3.0 * tycho.SLOW,
              "drain timeout %.1fs, exited after %.2fs" % (drain_s, took))
        line = srv.wait_log(lambda x: "drain timeout" in x.get("msg", ""), 1)
        check(line and line.get("requests_cut") == 1 and line.get("connections_closed") == 1,
              "drain timeout line: %r" % line)
        c.close()


def main():
    for t in (test_three_pipelined_gets, test_pipelined_posts_recorded, test_partial_request_behind,
              test_close_cases_still_close, test_client_reset_during_drain,
              test_drain_timeout_cuts_pipelining):
        t0 = time.time()
        t()
        print("%s ok (%.1fs)" % (t.__name__, time.time() - t0))


if __name__ == "__main__":
    tycho.run_main(main)
