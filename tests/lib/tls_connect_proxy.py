"""A CONNECT proxy that is also the TLS server behind it, for testing an
outbound client through https_proxy: it answers CONNECT with 200 and a
header of its own (which a client must not take for the response's), then
speaks TLS on the tunnel with a fresh self-signed certificate for localhost
and answers every request with 200, X-Real: 1 and the body "ok".
The TLS server offers ALPN h2 and http/1.1 (h2 first, as a real one would)
and says in X-Alpn which one the client took; it only speaks HTTP/1.1, so a
client that took h2 cannot read its answer. With --direct, it is that TLS
server alone (no CONNECT first).
Prints "<port> <certificate file>" on one line, then serves until killed."""
import os
import socket
import ssl
import subprocess
import sys
import tempfile
import threading

tmp = tempfile.mkdtemp(prefix="tls_proxy_")
cert, key = os.path.join(tmp, "cert.pem"), os.path.join(tmp, "key.pem")
subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
                "-nodes", "-keyout", key, "-out", cert, "-days", "1", "-subj", "/CN=localhost",
                "-addext", "subjectAltName=DNS:localhost"], check=True, capture_output=True)
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
ctx.load_cert_chain(cert, key)
ctx.set_alpn_protocols(["h2", "http/1.1"])
direct = "--direct" in sys.argv[1:]


def read_head(f):
    lines = []
    while True:
        line = f.readline()
        if line in (b"", b"\r\n", b"\n"):
            return lines
        lines.append(line)


def serve(conn):
    try:
        with conn:
            if not direct:
                if not read_head(conn.makefile("rb", buffering=0)):
                    return
                conn.sendall(b"HTTP/1.1 200 Connection established\r\nProxy-Agent: tls_connect_proxy\r\n\r\n")
            with ctx.wrap_socket(conn, server_side=True) as tls:
                alpn = (tls.selected_alpn_protocol() or "none").encode()
                f = tls.makefile("rb", buffering=0)
                while read_head(f):
                    tls.sendall(b"HTTP/1.1 200 OK\r\nX-Real: 1\r\nX-Alpn: " + alpn +
                                b"\r\nContent-Length: 2\r\n\r\nok")
    except (OSError, ssl.SSLError):
        pass


s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", 0))
s.listen(16)
print(s.getsockname()[1], cert, flush=True)
while True:
    c, _ = s.accept()
    threading.Thread(target=serve, args=(c,), daemon=True).start()
