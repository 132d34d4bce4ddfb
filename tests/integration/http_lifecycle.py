"""Graceful shutdown, back-pressure and the admin listener, against the real
binary: SIGTERM under keep-alive load with a slow upload in progress, the
drain timeout, a second signal, TYCHO_MAX_CONNECTIONS without a busy loop.
Run by test_http_lifecycle.sh with /usr/bin/python3."""
import errno
import json
import os
import select
import signal
import socket
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import tycho  # noqa: E402
from tycho import check  # noqa: E402

GET = b"GET /load HTTP/1.1\r\nHost: t\r\n\r\n"
GET_CLOSE = b"GET /load HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n"


class LoadClient(threading.Thread):
    """Loops keep-alive requests until the server refuses connections.

    Outcomes per request: a complete response (ok); a connection found
    closed before the request was sent (clean); a close after the request was
    sent with no byte of a response (counted by kind; the test requires none);
    anything else is a failure: a truncated or malformed response, a reset
    after part of a response, a hang."""

    def __init__(self, addr, stop_at, request=GET):
        super().__init__(daemon=True)
        self.addr = addr
        self.stop_at = stop_at
        self.request = request
        self.ok = 0
        self.closed_ok = 0  # responses carrying Connection: close
        self.idle_close = 0
        self.kinds = {}  # how each idle close was seen
        self.refused = False
        self.failures = []

    def _count(self, kind):
        self.idle_close += 1
        self.kinds[kind] = self.kinds.get(kind, 0) + 1

    def run(self):
        try:
            self._run()
        except Exception as e:  # noqa: BLE001 - any surprise is a failure
            self.failures.append("%s: %s" % (type(e).__name__, e))

    def _run(self):
        c = None
        while time.time() < self.stop_at:
            if c is None:
                try:
                    c = tycho.Conn(self.addr, timeout=5)
                except (ConnectionRefusedError, ConnectionResetError):
                    # Reset: the kernel completed the handshake into the
                    # listen backlog, then the listener closed before tycho
                    # accepted it. Nothing was sent: the same as a refusal.
                    self.refused = True
                    return
            # a stale connection: the server closed it while idle
            r, _, _ = select.select([c.sock], [], [], 0)
            if r:
                c._fill(0.1)
                if c.closed:
                    check(not c.buf, "bytes before a close on an idle connection: %r" % c.buf[:80])
                    self._count("stale before send")
                    c.close()
                    c = None
                    continue
            try:
                c.send(self.request)
            except (BrokenPipeError, ConnectionResetError):
                self._count("send failed")
                c.close()
                c = None
                continue
            try:
                resp = c.read_response(timeout=10)
            except tycho.Failure as e:
                self.failures.append(str(e))
                return
            if resp is None:
                # closed with no response byte: not processed (see above)
                self._count("reset after send" if c.reset else "EOF after send")
                c.close()
                c = None
                continue
            if resp.status != 404:
                self.failures.append("status %d" % resp.status)
                return
            self.ok += 1
            if resp.header("Connection") == "close":
                self.closed_ok += 1
                check(c.wait_closed(3), "no close after Connection: close")
                c.close()
                c = None
        if c:
            c.close()


def unanswered(clients):
    """How the clients' requests sent but never answered were seen, by kind:
    only a close seen before sending (or a refused connect) is clean."""
    kinds = {}
    for c in clients:
        for k, v in c.kinds.items():
            if k != "stale before send":
                kinds[k] = kinds.get(k, 0) + v
    return kinds


def slow_upload(addr, total, step, pause, result):
    """A POST whose body trickles in; records the final status."""
    try:
        c = tycho.Conn(addr, timeout=30)
        c.send(b"POST /upload HTTP/1.1\r\nHost: t\r\nContent-Length: %d\r\n\r\n" % total)
        sent = 0
        while sent < total:
            n = min(step, total - sent)
            try:
                c.send(b"u" * n)
            except OSError as e:
                result["error"] = "send after %d bytes: %s" % (sent, e)
                return
            sent += n
            result["sent"] = sent
            time.sleep(pause)
        r = c.read_response(timeout=10)
        result["status"] = r.status if r else None
        result["connection"] = r.header("Connection") if r else None
        result["closed"] = c.wait_closed(3)
        c.close()
    except Exception as e:  # noqa: BLE001
        result["error"] = "%s: %s" % (type(e).__name__, e)


def test_drain_under_load():
    env = {"TYCHO_DRAIN_TIMEOUT": 15, "TYCHO_ACCESS_LOG": "off", "TYCHO_KEEPALIVE_TIMEOUT": 30}
    with tycho.Server(env=env, workers=2) as srv:
        check(srv.ready_status() == 200, "ready before the signal")
        up = {}
        # 40 x 50 bytes, 0.05 s apart: about 2 s of upload
        t_up = threading.Thread(target=slow_upload, args=(srv.public, 2000, 50, 0.05, up), daemon=True)
        t_up.start()
        clients = [LoadClient(srv.public, time.time() + 20) for _ in range(4)]
        for c in clients:
            c.start()
        slow = {}

        def slow_get():
            try:
                c = tycho.Conn(srv.public, timeout=10)
                c.send(b"GET /sleep/1000 HTTP/1.1\r\nHost: t\r\n\r\n")
                r = c.read_response(timeout=10)
                slow.update(status=r.status if r else None, connection=r.header("Connection") if r else None)
                c.close()
            except Exception as e:  # noqa: BLE001
                slow["error"] = "%s: %s" % (type(e).__name__, e)

        t_slow = threading.Thread(target=slow_get, daemon=True)
        t_slow.start()
        time.sleep(0.6)
        before = sum(c.ok for c in clients)
        check(before > 50, "load clients made only %d requests before the signal" % before)
        check(up.get("sent", 0) > 0 and "error" not in up, "upload under way: %r" % up)
        srv.signal(signal.SIGTERM)
        t_sig = time.time()
        # readiness turns 503 while the upload keeps the drain going
        ready = srv.wait_draining(1.0)
        check(ready == 503, "/-/ready during the drain: %r" % ready)
        check(srv.proc.poll() is None, "exited before the upload finished")
        for c in clients:
            c.join(25)
        t_up.join(25)
        t_slow.join(10)
        rc = srv.wait(20)
        took = time.time() - t_sig
        fails = [f for c in clients for f in c.failures]
        total = sum(c.ok for c in clients)
        idle = sum(c.idle_close for c in clients)
        lost = unanswered(clients)
        print("drain: %d requests answered (%d with Connection: close), %d closes without a response "
              "(unanswered %r), upload %r, exit %s after %.2fs"
              % (total, sum(c.closed_ok for c in clients), idle, lost, up, rc, took))
        check(not fails, "load client failures: %s" % fails[:5])
        check(not lost, "requests sent but not answered during the drain: %r" % lost)
        check(all(c.closed_ok or c.kinds for c in clients), "each client saw the drain close its connection")
        check(all(c.refused or not c.is_alive() for c in clients), "clients ended")
        check(up.get("status") == 404 and up.get("connection") == "close" and up.get("closed"),
              "the upload in progress must finish with Connection: close: %r" % up)
        check(slow.get("status") == 200 and slow.get("connection") == "close",
              "a handler running at SIGTERM finishes, with Connection: close: %r" % slow)
        check(rc == 0, "exit code %s" % rc)
        check(took >= 1.0, "the drain did not wait for the upload (%.2fs)" % took)
        check(srv.wait_log(lambda r: r.get("msg") == "stopped", 1), "no 'stopped' log line")


def test_drain_new_connections():
    """Clients opening a connection per request while the server drains: the
    listener must not close on a handshake already done or under way (the
    client's connect() has returned and its request is on the wire), or the
    kernel resets it. The race is narrow and this only samples it: a
    regression shows as a failure now and then, not every run (with the
    listener simply closed, 8 such clients lost a request in about one drain
    in five)."""
    answered = 0
    for trial in range(12):
        with tycho.Server(env={"TYCHO_ACCESS_LOG": "off"}, workers=2) as srv:
            clients = [LoadClient(srv.public, time.time() + 15, GET_CLOSE) for _ in range(8)]
            for c in clients:
                c.start()
            time.sleep(0.2 + 0.01 * trial)
            srv.signal(signal.SIGTERM)
            for c in clients:
                c.join(20)
            rc = srv.wait(10)
            fails = [f for c in clients for f in c.failures]
            check(not fails, "trial %d: load client failures: %s" % (trial, fails[:5]))
            lost = unanswered(clients)
            check(not lost, "trial %d: requests sent but not answered: %r" % (trial, lost))
            check(all(c.refused for c in clients), "trial %d: every client ended refused" % trial)
            check(rc == 0, "trial %d: exit code %s" % (trial, rc))
            answered += sum(c.ok for c in clients)
    print("new connections through 12 drains: %d answered, none lost" % answered)


def test_drain_timeout():
    env = {"TYCHO_DRAIN_TIMEOUT": 1, "TYCHO_ACCESS_LOG": "off"}
    with tycho.Server(env=env) as srv:
        c = tycho.Conn(srv.public)
        c.send(b"POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 100\r\n\r\nabc")
        h = tycho.Conn(srv.public)  # a handler that outlives the drain: cancelled
        h.send(b"GET /sleep/5000 HTTP/1.1\r\nHost: t\r\n\r\n")
        time.sleep(0.2)
        srv.signal(signal.SIGTERM)
        t = time.time()
        rc = srv.wait(10)
        took = time.time() - t
        check(rc == 0, "exit code %s after the drain timeout" % rc)
        check(0.8 <= took <= 3.0 * tycho.SLOW, "drain timeout 1s, exited after %.2fs" % took)
        check(c.wait_closed(2), "the stuck upload's connection is closed")
        check(h.wait_closed(2), "the cancelled handler's connection is closed without a response")
        check(srv.wait_log(lambda r: "drain timeout" in r.get("msg", ""), 1), "drain timeout logged")


def test_second_signal():
    with tycho.Server(env={"TYCHO_DRAIN_TIMEOUT": 30}) as srv:
        c = tycho.Conn(srv.public)
        c.send(b"POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 100\r\n\r\nabc")
        time.sleep(0.2)
        srv.signal(signal.SIGTERM)
        time.sleep(0.3)
        check(srv.proc.poll() is None, "still draining")
        srv.signal(signal.SIGINT)
        t = time.time()
        rc = srv.wait(5)
        check(time.time() - t < 1.0 * tycho.SLOW, "a second signal exits at once")
        check(rc != 0, "a second signal is not a clean exit (got %s)" % rc)
        c.close()


def test_idle_server_exits():
    with tycho.Server() as srv:
        idle = tycho.Conn(srv.public)
        idle.send(GET)
        check(idle.read_response().status == 404, "first request")
        t = time.time()
        rc = srv.stop(10)
        check(rc == 0 and time.time() - t < 2 * tycho.SLOW, "an idle server stops at once (rc %s)" % rc)
        check(idle.wait_closed(1), "idle keep-alive connection closed by the drain")


def test_max_connections():
    env = {"TYCHO_MAX_CONNECTIONS": 5, "TYCHO_ACCESS_LOG": "off", "TYCHO_HEADER_TIMEOUT": 30,
           "TYCHO_KEEPALIVE_TIMEOUT": 30}
    with tycho.Server(env=env, workers=1) as srv:
        held = []
        for i in range(5):
            c = tycho.Conn(srv.public)
            c.send(GET)
            check(c.read_response().status == 404, "connection %d served" % i)
            held.append(c)
        sixth = tycho.Conn(srv.public)  # the kernel completes the handshake
        sixth.send(GET)
        cpu0 = srv.cpu_seconds()
        t0 = time.time()
        r, _, _ = select.select([sixth.sock], [], [], 1.5)
        check(not r, "the 6th connection was served while 5 were open")
        cpu = srv.cpu_seconds() - cpu0
        dt = time.time() - t0
        print("max-connections: %.3fs CPU over %.2fs while the 6th waited" % (cpu, dt))
        check(cpu < 0.15 * tycho.SLOW, "busy loop while at max connections: %.3fs CPU in %.2fs" % (cpu, dt))
        # the held connections still work
        held[1].send(GET)
        check(held[1].read_response().status == 404, "held connection still served")
        held[0].close()
        resp = sixth.read_response(timeout=3)
        check(resp is not None and resp.status == 404, "the 6th is served once one closes: %r" % resp)
        for c in held[1:] + [sixth]:
            c.close()
        # and again: the limit is reached and left repeatedly
        for round_ in range(3):
            conns = [tycho.Conn(srv.public) for _ in range(7)]
            for c in conns:
                c.send(b"GET / HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
            for c in conns:
                r = c.read_response(timeout=5)
                check(r is not None and r.status == 404, "round %d: every connection served" % round_)
                c.close()
        check(srv.stop() == 0, "clean exit")


def test_half_close_large_response():
    """A client that half-closes right after a large upload still gets the
    whole (queued, partially written) echo before the server closes."""
    size = 8 << 20
    with tycho.Server(env={"TYCHO_MAX_BODY_BYTES": 16 << 20, "TYCHO_ACCESS_LOG": "off"}) as srv:
        c = tycho.Conn(srv.public, timeout=20)
        body = os.urandom(size)
        sender = threading.Thread(target=lambda: (c.send(b"POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: %d\r\n\r\n"
                                                        % size + body), c.sock.shutdown(socket.SHUT_WR)))
        sender.start()
        time.sleep(1.0)  # let the server queue what the socket does not take
        r = c.read_response(timeout=20)
        sender.join(20)
        check(r is not None and r.status == 200, "echo after a half-close: %r" % r)
        check(r.body == body, "the whole body came back (%d of %d bytes)" % (len(r.body), size))
        check(c.wait_closed(3), "closed after the answer")
        # a large answer still queued, a small request held back behind it,
        # and the client half-closed: both are answered
        c = tycho.Conn(srv.public, timeout=20)
        c.send(b"POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: %d\r\n\r\n" % size + body +
               b"GET /json HTTP/1.1\r\nHost: t\r\n\r\n")
        c.sock.shutdown(socket.SHUT_WR)
        time.sleep(1.0)
        r = c.read_response(timeout=20)
        check(r is not None and r.body == body, "the large echo")
        r = c.read_response(timeout=20)
        check(r is not None and r.status == 200 and r.header("Connection") == "close",
              "the request held back behind it: %r" % r)
        check(c.wait_closed(3), "closed after the last answer")
        check(srv.stop() == 0, "clean exit")


def rss_kb(pid):
    with open("/proc/%d/status" % pid) as f:
        return int([line for line in f if line.startswith("VmRSS")][0].split()[1])


def test_pipelining_without_reading():
    """A client that pipelines requests and never reads the responses must
    not make the server queue them without bound: it stops taking requests
    (TCP back-pressure), then answers every one, in order, once the client
    reads."""
    n = 200000
    with tycho.Server(env={"TYCHO_ACCESS_LOG": "off"}) as srv:
        c = tycho.Conn(srv.public, timeout=60)
        base = rss_kb(srv.proc.pid)
        reqs = b"".join(b"GET /json HTTP/1.1\r\nHost: t\r\nX-Request-Id: r%d\r\n\r\n" % i for i in range(n))
        # the client also half-closes once everything is sent: all are still answered
        sender = threading.Thread(target=lambda: (c.send(reqs), c.sock.shutdown(socket.SHUT_WR)), daemon=True)
        sender.start()
        time.sleep(1.5)
        grown = rss_kb(srv.proc.pid) - base
        print("pipelining without reading: %d bytes of requests sent so far, server RSS +%d kB"
              % (len(reqs), grown))
        check(sender.is_alive(), "the server took all %d requests without the client reading" % n)
        # ASan's quarantine keeps every freed per-request block: RSS means nothing there.
        if not tycho.SANITIZED:
            check(grown < 40000, "server RSS grew by %d kB while the client did not read" % grown)
        for i in range(n):
            r = c.read_response(timeout=30)
            check(r is not None and r.status == 200 and r.header("X-Request-Id") == "r%d" % i,
                  "response %d: %r" % (i, r))
        # the last answer may say keep-alive: the server may have written it
        # before the client's FIN arrived, and then closes on the FIN
        check(c.wait_closed(3), "closed after the last answer")
        sender.join(10)
        check(srv.stop() == 0, "clean exit")
    # a client that never reads is closed after the send timeout
    with tycho.Server(env={"TYCHO_ACCESS_LOG": "off", "TYCHO_SEND_TIMEOUT": 1}) as srv:
        c = tycho.Conn(srv.public, timeout=10)
        err = {}

        def send():
            try:
                c.send(reqs)
            except OSError as e:
                err["e"] = e

        sender = threading.Thread(target=send, daemon=True)
        t0 = time.time()
        sender.start()
        sender.join(8 * tycho.SLOW)
        check(not sender.is_alive() and err, "the server closed the non-reading client (%r)" % err)
        print("non-reading client closed after %.1fs: %s" % (time.time() - t0, err["e"]))
        c.close()
        check(srv.stop() == 0, "clean exit")


def test_admin_refuses_web_pages(srv):
    """DNS rebinding: a page whose name resolves to 127.0.0.1 sends its own
    name as Host: only an IP literal or localhost is answered. A cross-site
    form POST (Origin, Sec-Fetch-Site) cannot reload."""
    port = srv.admin[1]
    for host in ("evil.example:%d" % port, "evil.example", "127.0.0.1.nip.io:%d" % port,
                 "localhost.evil.example", ""):
        for method, path in (("GET", "/metrics"), ("GET", "/-/status"), ("POST", "/-/reload"),
                             ("GET", "/-/healthy")):
            r = tycho.request(srv.admin, method, path, headers=[("Host", host)])
            check(r.status == 421, "%s %s with Host %r: %r" % (method, path, host, r))
    # a Host that is not host[:port] is refused before that, as on the public
    # listener (RFC 9110 7.2)
    for host in ("127.0.0.1:80x", "[::1"):
        for method, path in (("GET", "/metrics"), ("POST", "/-/reload")):
            r = tycho.request(srv.admin, method, path, headers=[("Host", host)])
            check(r.status == 400 and b"invalid Host header" in r.body,
                  "%s %s with Host %r: %r" % (method, path, host, r))
    for host in ("127.0.0.1:%d" % port, "127.0.0.1", "localhost:%d" % port, "LocalHost",
                 "[::1]:%d" % port, "[::ffff:10.0.0.1]", "10.1.2.3:9090"):
        r = tycho.request(srv.admin, path="/metrics", headers=[("Host", host)])
        check(r.status == 200, "/metrics with Host %r: %r" % (host, r))
    # HTTP/1.0 without Host (no browser sends that)
    c = tycho.Conn(srv.admin)
    c.send(b"GET /-/healthy HTTP/1.0\r\n\r\n")
    r = c.read_response()
    c.close()
    check(r is not None and r.status == 200, "HTTP/1.0 without Host: %r" % r)
    # a NUL in the Host: the parser refuses it (400) before the admin check,
    # which refuses it too (inet_pton would read "[::\0junk]" as "::";
    # tests/fuzz/corpus/admin_request/host_v6_with_nul)
    c = tycho.Conn(srv.admin)
    c.send(b"GET /metrics HTTP/1.1\r\nHost: [::\x00junk]\r\n\r\n")
    r = c.read_response()
    c.close()
    check(r is not None and r.status == 400, "Host with a NUL: %r" % r)
    for h in (("Origin", "http://evil.example"), ("Origin", "null"), ("Sec-Fetch-Site", "cross-site"),
              ("Sec-Fetch-Site", "same-site")):
        r = tycho.request(srv.admin, "POST", "/-/reload", headers=[h])
        check(r.status == 403, "POST /-/reload with %s: %r" % (h, r))
    # every field counts, not the first: a duplicated Sec-Fetch-Site or
    # Origin is refused, whatever its values
    for hs in ([("Sec-Fetch-Site", "none"), ("Sec-Fetch-Site", "cross-site")],
               [("Sec-Fetch-Site", "same-origin"), ("Sec-Fetch-Site", "same-site")],
               [("Sec-Fetch-Site", "none"), ("Sec-Fetch-Site", "none")],
               [("Sec-Fetch-Site", "none"), ("Origin", "http://evil.example")],
               [("Origin", "null"), ("Origin", "null")]):
        r = tycho.request(srv.admin, "POST", "/-/reload", headers=hs)
        check(r.status == 403, "POST /-/reload with %s: %r" % (hs, r))
    for h in (("Sec-Fetch-Site", "none"), ("Sec-Fetch-Site", "same-origin")):
        r = tycho.request(srv.admin, "POST", "/-/reload", headers=[h])
        check(r.status in (200, 422), "POST /-/reload with %s: %r" % (h, r))


def test_admin_plain_paths(srv):
    """Admin paths are matched as sent, never normalised: a percent-escape,
    an empty or a dot segment is a 400 that says so (a proxy filtering admin
    paths by their text cannot be walked around with /-/%72eload)."""
    for method, path, word in (("POST", "/-/%72eload", "percent"), ("GET", "/%6Detrics", "percent"),
                               ("GET", "/-/status%", "percent"), ("GET", "//metrics", "empty"),
                               ("POST", "/-//reload", "empty"), ("GET", "/./metrics", "dot"),
                               ("POST", "/x/../-/reload", "dot"), ("GET", "/-/..", "dot"),
                               ("GET", "/metrics/.", "dot")):
        r = tycho.request(srv.admin, method, path)
        check(r.status == 400 and word in json.loads(r.body)["error"], "%s %s: %r" % (method, path, r))
    for path, status in (("/metrics", 200), ("/-/healthy?x=%zz", 200), ("/.metrics", 404), ("/-/..x", 404),
                         ("/metrics/", 404), ("/", 404)):
        r = tycho.request(srv.admin, "GET", path)
        check(r.status == status, "GET %s: %r" % (path, r))


def test_admin():
    with tycho.Server(workers=2) as srv:
        check(srv.admin != srv.public, "admin and public listeners differ")
        r = tycho.request(srv.admin, path="/-/healthy")
        check(r.status == 200 and json.loads(r.body)["status"] == "ok", "healthy: %r" % r)
        r = tycho.request(srv.admin, path="/-/ready")
        check(r.status == 200, "ready: %r" % r)
        r = tycho.request(srv.admin, path="/-/status")
        doc = json.loads(r.body)
        check(r.status == 200 and doc["workers"] == 2 and doc["draining"] is False, "status: %r" % doc)
        r = tycho.request(srv.admin, "HEAD", "/-/status")
        check(r.status == 200 and r.body == b"", "HEAD /-/status")
        r = tycho.request(srv.admin, "POST", "/-/reload")
        check(r.status in (200, 422), "reload: %r" % r)
        r = tycho.request(srv.admin, "GET", "/-/reload")
        check(r.status == 405 and r.header("Allow") == "POST", "GET /-/reload: %r" % r)
        r = tycho.request(srv.admin, "DELETE", "/-/ready")
        check(r.status == 405 and r.header("Allow") == "GET, HEAD", "DELETE /-/ready: %r" % r)
        r = tycho.request(srv.admin, "POST", "/metrics")
        check(r.status == 405 and r.header("Allow") == "GET, HEAD", "POST /metrics: %r" % r)
        r = tycho.request(srv.admin, path="/nope")
        check(r.status == 404, "unknown admin path")
        test_admin_refuses_web_pages(srv)
        test_admin_plain_paths(srv)
        # the public port does not serve the admin endpoints
        r = tycho.request(srv.public, path="/-/status")
        check(b"\"workers\"" not in r.body, "admin status served on the public port")
        # each thread is named for its job (top -H, ps -L, perf)
        task = "/proc/%d/task" % srv.proc.pid
        names = set()
        for tid in os.listdir(task):
            with open(os.path.join(task, tid, "comm")) as f:
                names.add(f.read().strip())
        want = {"tycho-admin", "tycho-w0", "tycho-w1"}
        check(want <= names, "thread names: %r, want %r among them" % (sorted(names), sorted(want)))
        check(srv.stop() == 0, "clean exit")


def main():
    for t in (test_admin, test_half_close_large_response, test_pipelining_without_reading, test_idle_server_exits, test_max_connections, test_drain_timeout,
              test_second_signal, test_drain_new_connections, test_drain_under_load):
        t0 = time.time()
        t()
        print("%s ok (%.1fs)" % (t.__name__, time.time() - t0))


if __name__ == "__main__":
    tycho.run_main(main)
