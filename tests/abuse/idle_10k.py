"""10k concurrent idle keep-alive connections (IDLE_CONNS, default 10000):
each sends GET /health, reads the answer and stays open. While they idle,
/health on new connections keeps answering fast and the idle connections
still serve a second request; RSS per 10k idle connections is reported (and
bounded); once they close, the descriptors are released, and a second wave
reuses the memory the first freed (no growth per connection)."""
import os
import random
import selectors
import time

import abuse
from abuse import check

CONNS = int(os.environ.get("IDLE_CONNS", "10000"))
BATCH = 500
REQ = b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n"
# per 10k idle connections, above the baseline (measured: 125 MB; see the report)
RSS_BUDGET_KB = 160 * 1024


class Client:
    __slots__ = ("sock", "buf", "sent", "answers")

    def __init__(self, addr):
        self.sock = abuse.connect_nb(addr)
        self.buf = b""
        self.sent = False
        self.answers = 0


def answered(c):
    """True once a whole response is in c.buf (consumed); raises on garbage."""
    end = c.buf.find(b"\r\n\r\n")
    if end < 0:
        return False
    head = c.buf[:end].decode("latin-1")
    check(head.startswith("HTTP/1.1 200 "), "bad answer on an idle connection: %r" % head[:80])
    n = 0
    for line in head.split("\r\n")[1:]:
        k, _, v = line.partition(":")
        if k.strip().lower() == "content-length":
            n = int(v)
    if len(c.buf) < end + 4 + n:
        return False
    c.buf = c.buf[end + 4 + n:]
    c.answers += 1
    return True


def run(sel, clients, want, deadline):
    """Drives connects, one request per client and reads until every client
    has `want` answers."""
    pending = {c for c in clients if c.answers < want}
    while pending:
        check(time.time() < deadline, "%d connections still without an answer" % len(pending))
        for key, ev in sel.select(timeout=0.5):
            c = key.data
            if ev & selectors.EVENT_WRITE and not c.sent:
                c.sock.send(REQ)
                c.sent = True
                sel.modify(c.sock, selectors.EVENT_READ, c)
                continue
            d = c.sock.recv(65536)
            check(d, "the server closed an idle keep-alive connection early")
            c.buf += d
            if answered(c) and c.answers >= want:
                pending.discard(c)


def idle_wave(srv, addr, base_fds, probe):
    """Opens CONNS idle keep-alive connections, checks them, closes them.
    Returns (seconds to open, RSS, fds, RSS after closing, fds after, probes)."""
    sel = selectors.DefaultSelector()
    clients = []
    t0 = time.time()
    deadline = t0 + 60 * abuse.SLOW
    while len(clients) < CONNS:
        batch = [Client(addr) for _ in range(min(BATCH, CONNS - len(clients)))]
        for c in batch:
            sel.register(c.sock, selectors.EVENT_WRITE, c)
        run(sel, batch, 1, deadline)
        clients += batch
    t_open = time.time() - t0
    time.sleep(1.0)
    rss, fds = abuse.rss_kb(srv.proc.pid), abuse.open_fds(srv.proc.pid)
    during = None
    if probe:
        with abuse.Prober(addr, every=0.05) as prober:
            time.sleep(5)
            # the idle connections are still alive: a second request on some
            sample = random.sample(clients, min(200, len(clients)))
            for c in sample:
                c.sent = False
                sel.modify(c.sock, selectors.EVENT_WRITE, c)
            run(sel, sample, 2, time.time() + 20 * abuse.SLOW)
        during = prober.summary()
    for c in clients:
        sel.unregister(c.sock)
        c.sock.close()
    sel.close()
    end = time.time() + 10 * abuse.SLOW
    while abuse.open_fds(srv.proc.pid) > base_fds + 8 and time.time() < end:
        time.sleep(0.2)
    time.sleep(1.0)
    return t_open, rss, fds, abuse.rss_kb(srv.proc.pid), abuse.open_fds(srv.proc.pid), during


def main():
    limit = abuse.raise_nofile(2 * CONNS + 1024)
    check(limit >= CONNS + 512, "cannot raise the descriptor limit to %d (hard limit %d)" % (CONNS + 512, limit))
    srv = abuse.server(env={"TYCHO_MAX_CONNECTIONS": CONNS, "TYCHO_KEEPALIVE_TIMEOUT": 120,
                            "TYCHO_HEADER_TIMEOUT": 30}, workers=2,
                       wrapper=("prlimit", "--nofile=%d:%d" % (limit, limit), "--"))
    with srv:
        addr = srv.public
        for _ in range(100):
            status, _ = abuse.health(addr)
            check(status == 200, "/health before: %s" % status)
        time.sleep(0.5)
        base_rss, base_fds = abuse.rss_kb(srv.proc.pid), abuse.open_fds(srv.proc.pid)

        waves = []
        for wave in range(2):
            waves.append(idle_wave(srv, addr, base_fds, probe=(wave == 0)))
        (t_open, rss, fds, after_rss, after_fds, during), second = waves[0], waves[1]

        per10k = (rss - base_rss) * 10000 // CONNS
        print("idle keep-alive: %d connections opened and answered in %.1f s; server descriptors %d -> %d -> %d"
              % (CONNS, t_open, base_fds, fds, after_fds))
        print("RSS: baseline %d KB, with %d idle connections %d KB (%d KB per 10k, %.1f KB each), "
              "after closing them %d KB; a second wave: %d KB, then %d KB"
              % (base_rss, CONNS, rss, per10k, per10k / 10000.0, after_rss, second[1], second[3]))
        print("GET /health while they idle: %s" % abuse.fmt(during))
        check(fds >= base_fds + CONNS, "only %d descriptors for %d connections" % (fds - base_fds, CONNS))
        check(during["n"] >= 50 and during["failed"] == 0, "/health failed while idle: %s" % abuse.fmt(during))
        # the median says whether idle connections cost the loop anything; the
        # tail only has to stay sane (the suite shares two cores with valgrind)
        check(during["p50"] < 0.02 * abuse.SLOW and during["max"] < 1.0 * abuse.SLOW,
              "/health slow while idle: %s" % abuse.fmt(during))
        check(after_fds <= base_fds + 8 and second[4] <= base_fds + 8, "descriptors left after closing")
        if abuse.tycho.SANITIZED:
            print("(RSS not checked: ASan)")
        else:
            check(per10k < RSS_BUDGET_KB, "%d KB per 10k idle connections (budget %d KB)" % (per10k, RSS_BUDGET_KB))
            # what the first wave freed serves the second: no leak per connection
            # (the margin covers the two workers taking different shares)
            check(second[1] < rss + (rss - base_rss) // 5,
                  "RSS grows from one wave of idle connections to the next: %d KB, then %d KB" % (rss, second[1]))
        rc = srv.stop()
        check(rc == 0, "exit code %s" % rc)


if __name__ == "__main__":
    abuse.tycho.run_main(main)
