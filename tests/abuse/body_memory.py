"""Request bodies a worker holds at once have a cap (TYCHO_MAX_BODY_MEMORY):
with 1 MiB bodies allowed and 2 MiB for all of them, two connections send
most of a 1 MiB body and wait; a third one's body passes the cap and gets
503 naming the setting (connection closed), while the two are served once
their last byte arrives, and the bytes they held are free again: a fourth
body is taken. Without the cap, N slow uploads hold N x 1 MiB (4 GiB a
worker at TYCHO_MAX_CONNECTIONS)."""
import socket

import abuse
from abuse import check

BODY = 1 << 20


def start_upload(addr):
    """A POST whose body lacks its last byte: the server holds the rest."""
    s = socket.create_connection(addr, timeout=10 * abuse.SLOW)
    s.sendall(b"POST /save-data HTTP/1.1\r\nHost: t\r\nContent-Length: %d\r\n\r\n" % BODY
              + b"x" * (BODY - 1))
    return s


def answer(s):
    got = b""
    while b"\r\n\r\n" not in got or not got.rstrip().endswith(b"}"):
        d = s.recv(65536)
        if not d:
            break
        got += d
    return got


def main():
    srv = abuse.server(workers=1, args=("--max-body-bytes", "1MiB", "--max-body-memory", "2MiB"))
    try:
        addr = srv.public
        held = [start_upload(addr) for _ in range(2)]
        third = start_upload(addr)
        got = answer(third)
        check(got.startswith(b"HTTP/1.1 503"), "a third body past the cap: %r" % got[:120])
        check(b"TYCHO_MAX_BODY_MEMORY" in got, "the answer names the setting: %r" % got[-200:])
        print("  third upload: %s" % got.split(b"\r\n")[0].decode())
        third.close()
        for s in held:
            s.sendall(b"x")
            got = answer(s)
            # the app refuses a body past its own payload limit (its 413): what
            # matters is that the body reached it whole
            check(got.startswith(b"HTTP/1.1 413"), "a held upload, completed: %r" % got[:120])
            s.close()
        fourth = start_upload(addr)
        fourth.sendall(b"x")
        got = answer(fourth)
        check(got.startswith(b"HTTP/1.1 413"), "the budget is free again: %r" % got[:120])
        fourth.close()
        print("  two held uploads served, and a fourth after them")
    finally:
        srv.stop()


if __name__ == "__main__":
    main()
