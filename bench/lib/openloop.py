#!/usr/bin/python3
"""Open-loop HTTP/1.1 load at a fixed request rate (what wrk2 does; Debian has
no wrk2, and h2load's --rate paces connections, not requests).

Request i is due at t0 + i/rate. It goes out on an idle keep-alive connection
as soon as it is due; when every connection is busy it waits in a queue. Its
latency is measured from the time it was *due*, not from when it was sent, so
a server that stalls is charged for every request that queued behind the stall
(no coordinated omission). The client spins between sends instead of
sleeping, for sub-millisecond pacing; run it pinned to its own core.

Prints one human line and one machine line:
  RESULT <p50_ms> <p99_ms> <p99.9_ms> <errors> <achieved_req_per_s> <client_lag_max_ms>
client lag = how late the client itself sent a request that found an idle
connection (its own scheduling, not the server's): when it is large, a long
latency tail says more about the client's core than about the server.
errors = non-2xx answers + connection failures + requests unanswered 10 s
after the last one was due. Standard library only (Debian's /usr/bin/python3).
"""
import argparse
import collections
import select
import socket
import sys
import time
from urllib.parse import urlsplit

ap = argparse.ArgumentParser()
ap.add_argument("--url", required=True)
ap.add_argument("--rate", type=float, required=True, help="requests per second")
ap.add_argument("--duration", type=float, required=True, help="seconds of load")
ap.add_argument("--connections", type=int, default=50)
ap.add_argument("--drain", type=float, default=10.0, help="seconds to wait for stragglers")
args = ap.parse_args()

u = urlsplit(args.url)
host, port = u.hostname, u.port or 80
path = (u.path or "/") + ("?" + u.query if u.query else "")
REQ = ("GET %s HTTP/1.1\r\nHost: %s:%d\r\nUser-Agent: bench-openloop\r\n\r\n" % (path, host, port)).encode()

ep = select.epoll()


class Conn:
    __slots__ = ("sock", "buf", "due", "busy")

    def __init__(self):
        self.sock = socket.create_connection((host, port), timeout=5)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.sock.setblocking(False)
        self.buf = b""
        self.due = None
        ep.register(self.sock.fileno(), select.EPOLLIN)


conns = {}
idle = collections.deque()
for _ in range(args.connections):
    c = Conn()
    conns[c.sock.fileno()] = c
    idle.append(c)

total = int(args.rate * args.duration)
interval = 1.0 / args.rate
lat = []
lag = []  # due -> sent, for requests that found an idle connection
errors = 0
backlog = collections.deque()  # due times of requests waiting for a connection
sent = 0
done = 0


def send(c, due):
    c.due = due
    c.busy = True
    try:
        c.sock.sendall(REQ)
    except OSError:
        fail(c)


def reopen(c):
    global errors
    try:
        ep.unregister(c.sock.fileno())
    except OSError:
        pass
    del conns[c.sock.fileno()]
    c.sock.close()
    try:
        n = Conn()
    except OSError:
        errors += 1
        return
    conns[n.sock.fileno()] = n
    dispatch_idle(n)


def fail(c):
    global errors, done
    if c.due is not None:
        errors += 1
        done += 1
        c.due = None
    reopen(c)


def dispatch_idle(c):
    if backlog:
        send(c, backlog.popleft())
    else:
        c.due = None
        idle.append(c)


def parse(c, now):
    """Consume complete responses from c.buf; returns False on a framing error."""
    global errors, done
    while True:
        end = c.buf.find(b"\r\n\r\n")
        if end < 0:
            return True
        head = c.buf[:end].split(b"\r\n")
        try:
            status = int(head[0].split()[1])
        except (IndexError, ValueError):
            return False
        length = None
        for h in head[1:]:
            k, _, v = h.partition(b":")
            if k.strip().lower() == b"content-length":
                length = int(v)
        if length is None:
            return False  # the benchmark answers always carry Content-Length
        if len(c.buf) < end + 4 + length:
            return True
        c.buf = c.buf[end + 4 + length:]
        if c.due is None:
            return False  # an answer nobody asked for
        lat.append(now - c.due)
        if not 200 <= status < 300:
            errors += 1
        done += 1
        dispatch_idle(c)


t0 = time.perf_counter() + 0.05
end_due = t0 + total * interval
deadline = end_due + args.drain
while done < total:
    now = time.perf_counter()
    if now > deadline:
        break
    while sent < total and t0 + sent * interval <= now:
        due = t0 + sent * interval
        sent += 1
        if idle:
            lag.append(now - due)
            send(idle.popleft(), due)
        else:
            backlog.append(due)
    wait = 0 if sent < total and t0 + sent * interval - now < 0.002 else 0.001
    for fd, ev in ep.poll(wait):
        c = conns.get(fd)
        if c is None:
            continue
        try:
            data = c.sock.recv(65536)
        except BlockingIOError:
            continue
        except OSError:
            data = b""
        if not data:
            fail(c)
            continue
        c.buf += data
        if not parse(c, time.perf_counter()):
            fail(c)

missing = total - done
errors += missing
elapsed = max(time.perf_counter(), end_due) - t0
lat.sort()


def pct(p):
    if not lat:
        return float("nan")
    return lat[min(len(lat) - 1, int(p / 100.0 * len(lat)))] * 1e3


achieved = len(lat) / (end_due - t0) if end_due > t0 else 0.0
print("open-loop %s: %d requests at %.0f/s over %d connections: p50 %.3f ms, p99 %.3f ms, "
      "p99.9 %.3f ms, max %.3f ms, errors %d (unanswered %d)"
      % (args.url, total, args.rate, args.connections, pct(50), pct(99), pct(99.9),
         (lat[-1] * 1e3 if lat else float("nan")), errors, missing))
lag_max = max(lag) * 1e3 if lag else 0.0
print("client lag (idle connection available, request sent late by the client): max %.3f ms" % lag_max)
print("RESULT %.4f %.4f %.4f %d %.1f %.4f" % (pct(50), pct(99), pct(99.9), errors, achieved, lag_max))
sys.exit(0)
