"""Idle keep-alive connections after a large body: each of CONNS connections
sends one request with a body of 1 MiB (TYCHO_MAX_BODY_BYTES), reads its
answer and stays open. The body's memory goes with its request: RSS stays
near its baseline while the connections idle (before the fix each kept its
1 MiB buffer until it closed: 4 GiB a worker at TYCHO_MAX_CONNECTIONS)."""
import os
import socket
import time

import abuse
from abuse import check

CONNS = 150
BODY = 1 << 20


def post_and_keep(addr):
    s = socket.create_connection(addr, timeout=10 * abuse.SLOW)
    s.sendall(b"POST /save-data HTTP/1.1\r\nHost: t\r\nContent-Length: %d\r\n\r\n" % BODY
              + b"x" * BODY)
    got = b""
    while b"\r\n\r\n" not in got or not got.rstrip().endswith(b"}"):
        d = s.recv(65536)
        check(d, "connection closed before the answer: %r" % got[:200])
        got += d
    check(got.startswith(b"HTTP/1.1 413"), "expected the app's 413, got %r" % got[:100])
    check(b"Connection: close" not in got, "the connection must stay open: %r" % got[:300])
    return s


def main():
    # Under AddressSanitizer a freed block waits in its quarantine (256 MiB)
    # before going back: RSS would not show the bodies freed. Without it,
    # large blocks are unmapped when freed, as with the normal allocator.
    env = None
    if abuse.tycho.SANITIZED:
        env = {"ASAN_OPTIONS": ":".join(filter(None, (os.environ.get("ASAN_OPTIONS"),
                                                      "quarantine_size_mb=0")))}
    srv = abuse.server(workers=1, env=env)
    try:
        addr = srv.public
        post_and_keep(addr).close()  # warm up: Lua state, pools
        time.sleep(0.5)
        base = abuse.rss_kb(srv.proc.pid)
        socks = [post_and_keep(addr) for _ in range(CONNS)]
        time.sleep(0.5)
        held = abuse.rss_kb(srv.proc.pid)
        print("RSS: %d KB at baseline, %d KB with %d idle connections after a 1 MiB body"
              % (base, held, CONNS))
        check(held - base < 32 * 1024,
              "%d idle connections hold %d KB: their bodies were kept" % (CONNS, held - base))
        for s in socks:
            s.close()
    finally:
        srv.stop()


if __name__ == "__main__":
    main()
