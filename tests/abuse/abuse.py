"""Shared helpers for the abuse tests (tests/abuse/test_*.sh): the real
binary serving the reference app (routes/) on loopback, a health prober that
plays the load balancer while the abuse runs, and process measurements.

Standard library only; run with /usr/bin/python3. Servers are started with
their pid written to $ABUSE_PIDFILE so the calling script's trap can kill
them even if this process is killed first.
"""
import os
import resource
import socket
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import tycho  # noqa: E402
from tycho import Failure, check  # noqa: E402,F401

ROUTES = os.path.join(tycho.SRC, "routes")
SLOW = tycho.SLOW


def raise_nofile(n):
    """Raises this process's descriptor limit (children inherit it)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = min(n, hard) if hard != resource.RLIM_INFINITY else n
    if soft < want:
        resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


def server(env=None, workers=2, wrapper=(), args=()):
    """`tycho serve --routes routes` on 127.0.0.1:0 (admin too), access log off."""
    e = {"TYCHO_ACCESS_LOG": "off"}
    if os.environ.get("ABUSE_DATA_DIR"):
        e["TYCHO_DATA_DIR"] = os.environ["ABUSE_DATA_DIR"]
    e.update(env or {})
    srv = tycho.Server(args=args, env=e, workers=workers, wrapper=wrapper, routes=ROUTES)
    pidfile = os.environ.get("ABUSE_PIDFILE")
    if pidfile:
        with open(pidfile, "a") as f:
            f.write("%d\n" % srv.proc.pid)
    return srv


def rss_kb(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def open_fds(pid):
    return len(os.listdir("/proc/%d/fd" % pid))


def health(addr, timeout=5.0):
    """One GET /health on a new connection: (status or None, seconds)."""
    t0 = time.time()
    try:
        r = tycho.request(addr, path="/health", timeout=timeout)
        return r.status, time.time() - t0
    except (Failure, OSError):
        return None, time.time() - t0


class Prober:
    """GET /health on a new connection every `every` seconds, like an ALB
    health check, in a thread; records (time, status, latency)."""

    def __init__(self, addr, every=0.1, timeout=5.0):
        self.addr = addr
        self.every = every
        self.timeout = timeout
        self.results = []
        self._stop = threading.Event()
        self._t = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        while not self._stop.is_set():
            status, dt = health(self.addr, self.timeout)
            self.results.append((time.time(), status, dt))
            self._stop.wait(max(0.0, self.every - dt))

    def __enter__(self):
        self._t.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._t.join(self.timeout + 1)

    def summary(self, since=0.0, until=None):
        rs = [r for r in self.results if r[0] >= since and (until is None or r[0] <= until)]
        ok = [r[2] for r in rs if r[1] == 200]
        lat = sorted(ok)
        p = lambda q: lat[min(len(lat) - 1, int(q * len(lat)))] if lat else float("nan")  # noqa: E731
        return {"n": len(rs), "ok": len(ok), "failed": len(rs) - len(ok),
                "p50": p(0.5), "p99": p(0.99), "max": lat[-1] if lat else float("nan")}


def fmt(s):
    return "%d probes, %d ok, p50 %.1f ms, p99 %.1f ms, max %.1f ms" % (
        s["n"], s["ok"], s["p50"] * 1e3, s["p99"] * 1e3, s["max"] * 1e3)


def connect_nb(addr):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setblocking(False)
    s.connect_ex(addr)
    return s
