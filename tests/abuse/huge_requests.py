"""Huge headers, huge bodies: rounds of concurrent requests past the limits
(16 KB of headers, 8 KB of URI, 1 MB of body), sent as fast as the client
can. Each must get its error (431, 414, 413) and the connection closed
after it; bodies at the limit are read and answered. The server must not
keep what it buffered: RSS after the rounds returns near its baseline and
does not grow from one round to the next (HUGE_ROUNDS, default 3)."""
import concurrent.futures
import os
import socket
import time

import abuse
from abuse import check

ROUNDS = int(os.environ.get("HUGE_ROUNDS", "3"))
MAX_HEADER = 16384
MAX_URI = 8192
MAX_BODY = 1 << 20
MB = 1 << 20


def exchange(addr, payload, expect):
    """Sends payload (bytes, or a generator of chunks) while reading; returns
    a problem string or None. The response must be `expect` and the
    connection closed right after it."""
    s = socket.create_connection(addr, timeout=10 * abuse.SLOW)
    got = b""
    try:
        chunks = [payload] if isinstance(payload, bytes) else payload
        try:
            for chunk in chunks:
                s.sendall(chunk)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the server answered and closed before taking it all: fine
        deadline = time.time() + 10 * abuse.SLOW
        while time.time() < deadline:
            try:
                d = s.recv(65536)
            except ConnectionResetError:
                break
            except socket.timeout:
                return "no EOF after %r" % got[:60]
            if not d:
                break
            got += d
        if not got.startswith(b"HTTP/1.1 %d " % expect):
            return "expected %d, got %r" % (expect, got[:60])
        head = got.split(b"\r\n\r\n", 1)[0].lower()
        if expect >= 400 and b"connection: close" not in head:
            return "%d without Connection: close" % expect
        return None
    finally:
        s.close()


def big_headers():
    line = b"X-Filler: " + b"f" * 1000 + b"\r\n"
    return b"GET /health HTTP/1.1\r\nHost: x\r\n" + line * 64 + b"\r\n"  # 64 KB


def one_giant_header():
    yield b"GET /health HTTP/1.1\r\nHost: x\r\nX-Giant: "
    for _ in range(16):  # 1 MB, never finished
        yield b"g" * 65536


def long_uri():
    return b"GET /" + b"u" * (MAX_URI * 4) + b" HTTP/1.1\r\nHost: x\r\n\r\n"


def declared_huge_body():
    return b"POST /health HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n" % (100 * MB)


def chunked_too_much():
    yield b"POST /health HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
    for _ in range(32):  # 2 MB in 64 KB chunks
        yield b"10000\r\n" + b"c" * 65536 + b"\r\n"
    yield b"0\r\n\r\n"


def body_at_limit():
    # read in full and answered: /health takes no POST (405), and closes
    # because of the Connection: close we send
    return (b"POST /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: %d\r\n\r\n"
            % MAX_BODY) + b"b" * MAX_BODY


CASES = [("64 KB of headers", big_headers, 431), ("1 MB header line", one_giant_header, 431),
         ("32 KB URI", long_uri, 414), ("Content-Length 100 MB", declared_huge_body, 413),
         ("2 MB chunked body", chunked_too_much, 413), ("1 MB body at the limit", body_at_limit, 405)]


def main():
    srv = abuse.server(env={"TYCHO_MAX_HEADER_BYTES": MAX_HEADER, "TYCHO_MAX_URI_BYTES": MAX_URI,
                            "TYCHO_MAX_BODY_BYTES": MAX_BODY}, workers=2)
    with srv:
        addr = srv.public
        for _ in range(200):
            status, _ = abuse.health(addr)
            check(status == 200, "/health before: %s" % status)
        time.sleep(0.5)
        base = abuse.rss_kb(srv.proc.pid)
        rss = []
        peak = base
        per_round = 20
        for rnd in range(ROUNDS):
            with concurrent.futures.ThreadPoolExecutor(max_workers=24) as pool:
                jobs = [(name, pool.submit(exchange, addr, make(), expect))
                        for name, make, expect in CASES for _ in range(per_round)]
                while not all(j.done() for _, j in jobs):
                    peak = max(peak, abuse.rss_kb(srv.proc.pid))
                    time.sleep(0.05)
                problems = [(name, j.result()) for name, j in jobs if j.result()]
            check(not problems, "round %d: %d problems, e.g. %s" % (rnd + 1, len(problems), problems[:3]))
            status, dt = abuse.health(addr)
            check(status == 200, "/health after round %d: %s" % (rnd + 1, status))
            time.sleep(1.0)
            rss.append(abuse.rss_kb(srv.proc.pid))
        print("huge requests: %d rounds of %d requests (%s), every one answered and closed"
              % (ROUNDS, per_round * len(CASES), ", ".join("%s -> %d" % (n, e) for n, _, e in CASES)))
        print("RSS: baseline %d KB, peak %d KB, after each round %s KB"
              % (base, peak, ", ".join(str(r) for r in rss)))
        if abuse.tycho.SANITIZED:
            print("(RSS not checked: ASan keeps freed memory in quarantine)")
        else:
            check(rss[-1] - base < 8 * 1024,
                  "RSS stays %d KB above its baseline after the rounds" % (rss[-1] - base))
            check(rss[-1] - rss[0] < 4 * 1024, "RSS grows from round to round: %s KB" % rss)
        rc = srv.stop()
        check(rc == 0, "exit code %s" % rc)


if __name__ == "__main__":
    abuse.tycho.run_main(main)
