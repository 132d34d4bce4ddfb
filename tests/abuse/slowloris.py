"""Slowloris: SLOWLORIS_CONNS connections (default 500) each trickle a request
head one byte per second, and are reopened as soon as the server closes them,
for SLOWLORIS_SECONDS (default 8). With TYCHO_HEADER_TIMEOUT=2 the server
must close every one of them about 2 s after its first byte, whatever the
trickle (the header timeout is absolute, not reset by each byte), and keep
answering GET /health fast on new connections throughout."""
import os
import selectors
import socket
import time

import abuse
from abuse import check

CONNS = int(os.environ.get("SLOWLORIS_CONNS", "500"))
SECONDS = float(os.environ.get("SLOWLORIS_SECONDS", "8"))
HEADER_TIMEOUT = 2.0
BYTE_EVERY = 1.0
HEAD = b"GET /health HTTP/1.1\r\nHost: x\r\nX-Slow: " + b"a" * 4096


class Slow:
    def __init__(self, addr, sel):
        self.sock = abuse.connect_nb(addr)
        self.opened = time.time()
        self.first_byte = None
        self.sent = 0
        self.next_send = self.opened
        self.got = b""
        sel.register(self.sock, selectors.EVENT_READ, self)


def main():
    abuse.raise_nofile(4 * CONNS + 256)
    srv = abuse.server(env={"TYCHO_HEADER_TIMEOUT": HEADER_TIMEOUT}, workers=2)
    with srv:
        addr = srv.public
        sel = selectors.DefaultSelector()
        live = [Slow(addr, sel) for _ in range(CONNS)]
        lifetimes = []  # first byte -> closed by the server
        answers = {}
        reopened = 0
        end = time.time() + SECONDS
        with abuse.Prober(addr, every=0.1) as prober:
            while time.time() < end:
                now = time.time()
                for s in live:  # one byte each BYTE_EVERY seconds
                    if now >= s.next_send and s.sent < len(HEAD):
                        try:
                            s.sock.send(HEAD[s.sent:s.sent + 1])
                            s.sent += 1
                            if s.first_byte is None:
                                s.first_byte = now
                        except BlockingIOError:
                            pass  # still connecting
                        except OSError:
                            pass  # reset: seen by the read below
                        s.next_send = now + BYTE_EVERY
                for key, _ in sel.select(timeout=0.05):
                    s = key.data
                    try:
                        d = s.sock.recv(4096)
                    except BlockingIOError:
                        continue
                    except OSError:
                        d = b""
                    if d:
                        s.got += d
                        continue
                    # closed by the server: record, and come back like an attacker would
                    lifetimes.append(time.time() - (s.first_byte or s.opened))
                    status = s.got[9:12].decode("latin-1") if s.got.startswith(b"HTTP/1.1 ") else "none"
                    answers[status] = answers.get(status, 0) + 1
                    sel.unregister(s.sock)
                    s.sock.close()
                    live[live.index(s)] = Slow(addr, sel)
                    reopened += 1
            during = prober.summary()
        still_open = [time.time() - (s.first_byte or s.opened) for s in live]
        for s in live:
            s.sock.close()
        sel.close()

        print("slowloris: %d connections kept open for %.0f s, %d closed by the server "
              "(answers %s), lifetime after the first byte min %.2f s, max %.2f s"
              % (CONNS, SECONDS, reopened, answers, min(lifetimes or [0]), max(lifetimes or [0])))
        print("GET /health during the attack: %s" % abuse.fmt(during))
        check(reopened >= CONNS * int(SECONDS / (HEADER_TIMEOUT + 0.5)) * 0.8,
              "only %d slow connections were closed in %.0f s" % (reopened, SECONDS))
        check(max(lifetimes) <= HEADER_TIMEOUT + 1.0 * abuse.SLOW,
              "a slow connection lived %.2f s after its first byte (header timeout %.0f s)"
              % (max(lifetimes), HEADER_TIMEOUT))
        check(min(lifetimes) >= HEADER_TIMEOUT - 0.3,
              "a connection was closed %.2f s after its first byte, before the header timeout"
              % min(lifetimes))
        check(max(still_open) <= HEADER_TIMEOUT + 1.0 * abuse.SLOW,
              "a connection still open %.2f s after its first byte" % max(still_open))
        check(set(answers) <= {"408", "none"}, "unexpected answers to slow heads: %s" % answers)
        check(during["n"] >= SECONDS * 5 and during["failed"] == 0,
              "GET /health failed during the attack: %s" % abuse.fmt(during))
        # median: what the attack costs the loop; max: no probe stuck behind it
        check(during["p50"] < 0.02 * abuse.SLOW and during["max"] < 1.0 * abuse.SLOW,
              "GET /health slow during the attack: %s" % abuse.fmt(during))
        rc = srv.stop()
        check(rc == 0, "exit code %s" % rc)


if __name__ == "__main__":
    abuse.tycho.run_main(main)
