"""Request bodies a worker holds at once have a cap (TYCHO_MAX_BODY_MEMORY):
with 1 MiB bodies allowed and 2 MiB for all of them, three connections send
all but the last byte of a 1 MiB body. Two fit: the body that would pass
the cap (whichever the server read last) gets 503 naming the setting, and
its connection closes; the other two are served once their last byte
arrives, and the bytes they held are free again: a fourth body is taken.
Without the cap, N slow uploads hold N x 1 MiB (4 GiB a worker at
TYCHO_MAX_CONNECTIONS)."""
import select
import socket
import threading

import abuse
from abuse import check

BODY = 1 << 20


class Upload:
    """A POST whose body lacks its last byte, sent from a thread (the send
    blocks while the server reads; it fails if the server refuses it)."""

    def __init__(self, addr):
        self.s = socket.create_connection(addr, timeout=10 * abuse.SLOW)
        self.t = threading.Thread(target=self._send, daemon=True)
        self.t.start()

    def _send(self):
        try:
            self.s.sendall(b"POST /save-data HTTP/1.1\r\nHost: t\r\nContent-Length: %d\r\n\r\n"
                           % BODY + b"x" * (BODY - 1))
        except OSError:
            pass  # refused: the answer says why

    def answer(self):
        got = b""
        while b"\r\n\r\n" not in got or not got.rstrip().endswith(b"}"):
            try:
                d = self.s.recv(65536)
            except OSError:
                break
            if not d:
                break
            got += d
        return got

    def finish(self):
        self.t.join(10 * abuse.SLOW)
        self.s.sendall(b"x")
        return self.answer()


def main():
    srv = abuse.server(workers=1, args=("--max-body-bytes", "1MiB", "--max-body-memory", "2MiB"))
    try:
        addr = srv.public
        ups = [Upload(addr) for _ in range(3)]
        ready, _, _ = select.select([u.s for u in ups], [], [], 10 * abuse.SLOW)
        check(len(ready) == 1, "%d of 3 uploads answered before their end, expected 1" % len(ready))
        refused = next(u for u in ups if u.s is ready[0])
        got = refused.answer()
        check(got.startswith(b"HTTP/1.1 503"), "the body past the cap: %r" % got[:120])
        check(b"TYCHO_MAX_BODY_MEMORY" in got, "the answer names the setting: %r" % got[-200:])
        print("  the upload past the cap: %s" % got.split(b"\r\n")[0].decode())
        refused.s.close()
        for u in ups:
            if u is refused:
                continue
            got = u.finish()
            # the app refuses a body past its own payload limit (its 413): what
            # matters is that the body reached it whole
            check(got.startswith(b"HTTP/1.1 413"), "a held upload, completed: %r" % got[:120])
            u.s.close()
        fourth = Upload(addr)
        got = fourth.finish()
        check(got.startswith(b"HTTP/1.1 413"), "the budget is free again: %r" % got[:120])
        fourth.s.close()
        print("  the two held uploads served, and a fourth after them")
    finally:
        srv.stop()


if __name__ == "__main__":
    main()
