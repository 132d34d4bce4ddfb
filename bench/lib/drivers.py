#!/usr/bin/python3
"""Small load drivers bench/run needs besides wrk and openloop.py.

  drivers.py sequential URL N            N keep-alive GETs on one connection, one at a
                                         time; prints the seconds it took
  drivers.py idle-conns URL N DONE_FILE  opens N connections, one GET each (keep-alive),
                                         prints READY <open> <answered>, holds them until
                                         DONE_FILE exists (or 120 s), then closes them
  drivers.py startup CMD_JSON READY_URL  exec CMD, poll READY_URL every 0.5 ms until 200;
                                         prints the milliseconds from exec to that answer,
                                         then SIGTERMs the process and waits (bounded)
  drivers.py otlp-sink PORT              answers POST /v1/traces with 200 (an empty
                                         ExportTraceServiceResponse); counts requests and bytes
                                         into PORT.count on SIGTERM

Standard library only (Debian's /usr/bin/python3).
"""
import json
import os
import signal
import socket
import subprocess
import sys
import time
from urllib.parse import urlsplit


def addr(url):
    u = urlsplit(url)
    return u.hostname, u.port or 80, (u.path or "/")


def request(host, port, path):
    return ("GET %s HTTP/1.1\r\nHost: %s:%d\r\n\r\n" % (path, host, port)).encode()


def read_response(sock, buf=b""):
    """Reads one Content-Length framed response; returns (status, leftover)."""
    while b"\r\n\r\n" not in buf:
        d = sock.recv(65536)
        if not d:
            raise ConnectionError("closed")
        buf += d
    head, _, rest = buf.partition(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    status = int(lines[0].split()[1])
    length = 0
    for h in lines[1:]:
        k, _, v = h.partition(b":")
        if k.strip().lower() == b"content-length":
            length = int(v)
    while len(rest) < length:
        d = sock.recv(65536)
        if not d:
            raise ConnectionError("closed")
        rest += d
    return status, rest[length:]


def sequential(url, n):
    host, port, path = addr(url)
    req = request(host, port, path)
    s = socket.create_connection((host, port), timeout=60)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    t0 = time.perf_counter()
    buf = b""
    bad = 0
    for _ in range(n):
        s.sendall(req)
        status, buf = read_response(s, buf)
        bad += status != 200
    dt = time.perf_counter() - t0
    s.close()
    if bad:
        sys.exit("%d non-200 answers" % bad)
    print("%.3f" % dt)


def idle_conns(url, n, done_file):
    host, port, path = addr(url)
    req = request(host, port, path)
    socks = []
    ok = 0
    # In batches of 250 (connect, send, then read every answer) so that the
    # server's accept queue never overflows.
    while len(socks) < n:
        batch = []
        for _ in range(min(250, n - len(socks))):
            try:
                s = socket.create_connection((host, port), timeout=10)
            except OSError as e:
                print("connect %d failed: %s" % (len(socks) + len(batch), e), file=sys.stderr)
                break
            batch.append(s)
        for s in batch:
            try:
                s.sendall(req)
            except OSError:
                pass
        for s in batch:
            try:
                status, _ = read_response(s)
                ok += status == 200
            except (OSError, ValueError):
                pass
        socks.extend(batch)
        if len(batch) == 0 or len(socks) % 250:
            break
    print("READY %d %d" % (len(socks), ok), flush=True)
    deadline = time.time() + 120
    while time.time() < deadline and not os.path.exists(done_file):
        time.sleep(0.1)
    for s in socks:
        s.close()


def startup(cmd, ready_url):
    host, port, path = addr(ready_url)
    req = request(host, port, path)
    t0 = time.perf_counter()
    p = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    ms = None
    deadline = t0 + 10
    while time.perf_counter() < deadline and p.poll() is None:
        try:
            s = socket.create_connection((host, port), timeout=1)
        except OSError:
            time.sleep(0.0005)
            continue
        try:
            s.sendall(req)
            status, _ = read_response(s)
            if status == 200:
                ms = (time.perf_counter() - t0) * 1e3
                break
        except (OSError, ValueError):
            pass
        finally:
            s.close()
        time.sleep(0.0005)
    p.send_signal(signal.SIGTERM)
    try:
        p.wait(10)
    except subprocess.TimeoutExpired:
        p.kill()
        p.wait()
    if ms is None:
        sys.exit("not ready within 10 s")
    print("%.3f" % ms)


def otlp_sink(port):
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
    counts = {"requests": 0, "bytes": 0}

    class H(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self):
            n = int(self.headers.get("Content-Length") or 0)
            self.rfile.read(n)
            counts["requests"] += 1
            counts["bytes"] += n
            self.send_response(200)
            self.send_header("Content-Type", "application/x-protobuf")
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *a):
            pass

    srv = ThreadingHTTPServer(("127.0.0.1", port), H)

    def stop(*_):
        with open("%s.count" % os.environ.get("SINK_COUNT", port), "w") as f:
            json.dump(counts, f)
        os._exit(0)

    signal.signal(signal.SIGTERM, stop)
    srv.serve_forever()


if __name__ == "__main__":
    mode = sys.argv[1]
    if mode == "sequential":
        sequential(sys.argv[2], int(sys.argv[3]))
    elif mode == "idle-conns":
        idle_conns(sys.argv[2], int(sys.argv[3]), sys.argv[4])
    elif mode == "startup":
        startup(json.loads(sys.argv[2]), sys.argv[3])
    elif mode == "otlp-sink":
        otlp_sink(int(sys.argv[2]))
    else:
        sys.exit("unknown mode " + mode)
