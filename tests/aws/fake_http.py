"""Loopback HTTP/1.1 server for the outbound HTTP client tests.

Prints its port on the first line of stdout, then serves until killed.
  GET  /stats            {"connections": N, "requests": M} since start or reset
  POST /reset-stats      (also empties the raw capture)
  GET  /raw              JSON {"raw": every byte received since start or reset,
                         latin-1}: what really reached the wire
  ANY  /echo             JSON {method, path, headers, body} (+ header X-Echo: yes)
  GET  /delay?ms=N       answers after N ms
  GET  /big?n=N          N bytes with Content-Length
  GET  /big-chunked?n=N  N bytes, chunked, no Content-Length
  GET  /big-header?n=N   a small body, with a header X-Big of N bytes
  GET  /status?code=N    that status, small body
  GET  /redirect?to=P    302 with Location: P
  GET  /reset            TCP reset instead of an answer (SO_LINGER 0)
  GET  /close            closes the connection without answering
  GET  /wire?hex=H       writes the bytes H (hex) as the whole answer, then closes
usage: /usr/bin/python3 fake_http.py [PORT]
"""
import json
import socket
import struct
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

LOCK = threading.Lock()
STATS = {"connections": 0, "requests": 0}
RAW = bytearray()


class Tee:
    """The connection's reader, keeping a copy of every byte read in RAW."""

    def __init__(self, f):
        self.f = f

    def keep(self, data):
        with LOCK:
            RAW.extend(data)
        return data

    def readline(self, *a):
        return self.keep(self.f.readline(*a))

    def read(self, *a):
        return self.keep(self.f.read(*a))

    def __getattr__(self, name):
        return getattr(self.f, name)


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):
        pass

    def setup(self):
        super().setup()
        self.rfile = Tee(self.rfile)
        with LOCK:
            STATS["connections"] += 1

    def reply(self, code, body, ctype="application/json", extra=None):
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        for k, v in (extra or {}).items():
            self.send_header(k, v)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def handle_any(self):
        with LOCK:
            STATS["requests"] += 1
        u = urlsplit(self.path)
        q = {k: v[0] for k, v in parse_qs(u.query).items()}
        n = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(n) if n else b""
        if u.path == "/stats":
            with LOCK:
                self.reply(200, json.dumps(STATS).encode())
        elif u.path == "/reset-stats":
            with LOCK:
                STATS["connections"] = 1  # this connection
                STATS["requests"] = 0
                RAW.clear()
            self.reply(200, b"{}")
        elif u.path == "/raw":
            with LOCK:
                self.reply(200, json.dumps({"raw": RAW.decode("latin-1")}).encode())
        elif u.path == "/echo":
            out = {"method": self.command, "path": self.path,
                   "headers": [[k, v] for k, v in self.headers.items()],
                   "body": body.decode("latin-1")}
            self.reply(200, json.dumps(out).encode(), extra={"X-Echo": "yes"})
        elif u.path == "/delay":
            time.sleep(int(q.get("ms", "100")) / 1000)
            self.reply(200, b'{"delayed":true}')
        elif u.path == "/big":
            self.reply(200, b"x" * int(q.get("n", "1000")), "text/plain")
        elif u.path == "/big-header":
            self.reply(200, b"{}", extra={"X-Big": "h" * int(q.get("n", "1000"))})
        elif u.path == "/big-chunked":
            self.send_response(200)
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            left = int(q.get("n", "1000"))
            while left > 0:
                k = min(left, 4096)
                self.wfile.write(b"%x\r\n" % k + b"y" * k + b"\r\n")
                left -= k
            self.wfile.write(b"0\r\n\r\n")
        elif u.path == "/redirect":
            self.reply(302, b"{}", extra={"Location": q.get("to", "/")})
        elif u.path == "/status":
            code = int(q.get("code", "200"))
            self.reply(code, json.dumps({"status": code}).encode())
        elif u.path == "/reset":
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                                       struct.pack("ii", 1, 0))
            self.connection.close()
            self.close_connection = True
        elif u.path == "/wire":
            self.wfile.write(bytes.fromhex(q["hex"]))
            self.wfile.flush()
            self.connection.shutdown(socket.SHUT_WR)
            self.close_connection = True
        elif u.path == "/close":
            self.connection.shutdown(socket.SHUT_RDWR)
            self.close_connection = True
        else:
            self.reply(404, b'{"error":"not found"}')

    do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = do_PATCH = do_TRACE = handle_any


class Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 256

    def handle_error(self, request, client_address):
        pass  # clients that abort (size cap, cancel) are part of the tests


def main():
    port = int(sys.argv[1]) if len(sys.argv) > 1 else 0
    srv = Server(("127.0.0.1", port), Handler)
    print(srv.server_address[1], flush=True)
    srv.serve_forever()


if __name__ == "__main__":
    main()
