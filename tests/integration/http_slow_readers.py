"""Responses to clients that read slowly or not at all, against the real
binary: the keep-alive timeout counts from the last byte written, never cutting
a response still going out; TYCHO_SEND_TIMEOUT closes a connection whose
response makes no progress (keep-alive or not) and its access line says what
was written; a client reset mid-response and the drain timeout leave the same
kind of line; a 408's duration is the time the client took. Run by
test_http_slow_readers.sh with /usr/bin/python3."""
import os
import signal
import socket
import struct
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import tycho  # noqa: E402
from tycho import check  # noqa: E402

BIG = 16 << 20  # more than the kernel buffers on both sides hold


def big_request(n, close=False):
    return ("GET /big?n=%d HTTP/1.1\r\nHost: t\r\nX-Request-Id: big-%d-%d\r\n%s\r\n"
            % (n, n, close, "Connection: close\r\n" if close else "")).encode()


def connect(srv, rcvbuf=128 << 10):
    """A socket with a fixed, small receive buffer: the response waits in
    tycho's write queue, not in the client's kernel."""
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
    s.settimeout(10 * tycho.SLOW)
    s.connect(srv.public)
    return s


def read_throttled(s, rate, limit):
    """Reads at most rate bytes/s until EOF or limit bytes; the bytes read."""
    got, t0 = 0, time.time()
    while got < limit:
        try:
            d = s.recv(65536)
        except ConnectionResetError:
            break
        if not d:
            break
        got += len(d)
        ahead = got / rate - (time.time() - t0)
        if ahead > 0:
            time.sleep(ahead)
    return got


def access_line(srv, rid, timeout=5.0):
    line = srv.wait_log(lambda r: r.get("msg") == "access" and r.get("request_id") == rid,
                        timeout * tycho.SLOW)
    check(line, "no access line for %s" % rid)
    return line


def test_keepalive_waits_for_the_last_byte():
    """A keep-alive response read at 3 MB/s for about 2 s, with a 0.5 s
    keep-alive timeout: all of it arrives (it was cut at the keep-alive
    timeout, the access line claiming it whole). Progress resets the 1 s send
    timeout, so the slow reader is not cut either."""
    n = 6 << 20
    env = {"TYCHO_KEEPALIVE_TIMEOUT": "500ms", "TYCHO_SEND_TIMEOUT": 1}
    with tycho.Server(env=env) as srv:
        s = connect(srv)
        s.sendall(big_request(n))
        got = read_throttled(s, 3 << 20, 1 << 40)
        s.close()
        line = access_line(srv, "big-%d-0" % n)
        head = line["bytes_out"] - n
        check(got == n + head, "read %d of %d bytes (%d of body)" % (got, n + head, got - head))
        check(line["status"] == 200 and 0 < head < 1000, "access line %r" % line)
        check(srv.stop() == 0, "clean exit")


def stalled(srv, close):
    """Sends a request for BIG bytes and reads nothing."""
    s = connect(srv)
    s.sendall(big_request(BIG, close))
    return s


def metric(srv, name):
    r = tycho.request(srv.admin, path="/metrics")
    for line in r.body.decode().splitlines():
        if line.startswith(name + " "):
            return float(line.split()[1])
    return None


def test_send_timeout():
    """A client that stops reading is closed after TYCHO_SEND_TIMEOUT (1 s),
    with Connection: close as with keep-alive; the access line has status 0
    and the bytes written; the cut is logged and counted."""
    with tycho.Server(env={"TYCHO_SEND_TIMEOUT": 1}) as srv:
        for close in (True, False):
            t0 = time.time()
            s = stalled(srv, close)
            rid = "big-%d-%d" % (BIG, close)
            line = access_line(srv, rid, 6)
            took = time.time() - t0
            check(0.9 <= took <= 3.0 * tycho.SLOW, "cut after %.2fs with a 1s send timeout" % took)
            check(line["status"] == 0 and 0 < line["bytes_out"] < BIG, "access line %r" % line)
            check(srv.wait_log(lambda r: r.get("msg") == "send timeout: response cut" and
                               r.get("request_id") == rid, 1), "no send timeout line for %s" % rid)
            got = read_throttled(s, 1 << 40, 1 << 40)  # what the kernel still held, then the end
            check(got < BIG, "closed connection delivered %d bytes" % got)
            s.close()
        end = time.time() + 5 * tycho.SLOW
        while metric(srv, "tycho_http_send_timeouts_total") != 2 and time.time() < end:
            time.sleep(0.2)
        check(metric(srv, "tycho_http_send_timeouts_total") == 2,
              "tycho_http_send_timeouts_total %r" % metric(srv, "tycho_http_send_timeouts_total"))
        check(srv.stop() == 0, "clean exit")


def test_client_reset_mid_response():
    """A client that resets the connection after part of a response gets the
    same kind of access line as a send timeout: status 0, the bytes written."""
    with tycho.Server() as srv:
        s = stalled(srv, False)
        time.sleep(0.3)
        s.recv(65536)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        s.close()  # a reset
        line = access_line(srv, "big-%d-0" % BIG)
        check(line["status"] == 0 and 0 < line["bytes_out"] < BIG, "access line %r" % line)
        check(srv.stop() == 0, "clean exit")


def test_drain_timeout_cuts_a_stalled_response():
    """A response still being written when the drain timeout passes is cut
    like a running handler: counted in requests_cut, an access line with
    status 0 and the bytes written."""
    with tycho.Server(env={"TYCHO_DRAIN_TIMEOUT": 1, "TYCHO_SEND_TIMEOUT": 30}) as srv:
        s = stalled(srv, False)
        time.sleep(0.3)
        srv.signal(signal.SIGTERM)
        check(srv.wait(10) == 0, "clean exit after the drain timeout")
        cut = srv.wait_log(lambda r: "drain timeout" in r.get("msg", ""), 1)
        check(cut and cut.get("requests_cut") == 1, "drain timeout line %r" % cut)
        line = access_line(srv, "big-%d-0" % BIG, 1)
        check(line["status"] == 0 and 0 < line["bytes_out"] < BIG, "access line %r" % line)
        s.close()


def test_408_duration():
    """A 408's duration is the time from the request's first byte."""
    with tycho.Server(env={"TYCHO_HEADER_TIMEOUT": 1}) as srv:
        c = tycho.Conn(srv.public)
        c.send(b"GET / HTTP/1.1\r\nHo")
        r = c.read_response(timeout=5)
        check(r is not None and r.status == 408, "408 expected: %r" % r)
        line = access_line(srv, r.header("X-Request-Id"))
        check(line["status"] == 408 and 900 <= line["duration_ms"] < 3000 * tycho.SLOW,
              "408 access line %r" % line)
        c.close()
        check(srv.stop() == 0, "clean exit")


def main():
    for t in (test_keepalive_waits_for_the_last_byte, test_send_timeout, test_client_reset_mid_response,
              test_drain_timeout_cuts_a_stalled_response, test_408_duration):
        t0 = time.time()
        t()
        print("%s ok (%.1fs)" % (t.__name__, time.time() - t0))


if __name__ == "__main__":
    tycho.run_main(main)
