"""valgrind memcheck of a whole serving run: clean start, requests of every
kind (Lua routes, pipelining, a malformed request, 100-continue, chunked
echo, admin, reload), SIGTERM with a handler still running. Any memory error
or leak (definite or indirect) fails. Not run in sanitizer builds."""
import glob
import os
import shutil
import signal
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import tycho  # noqa: E402
from tycho import check  # noqa: E402


def main():
    if tycho.SANITIZED:
        print("skipped: valgrind does not run sanitizer builds")
        return
    check(shutil.which("valgrind"), "valgrind is not installed (scripts/setup installs it)")
    logdir = tempfile.mkdtemp(prefix="tycho-vg-")
    wrapper = ["valgrind", "--leak-check=full", "--errors-for-leak-kinds=definite,indirect",
               "--error-exitcode=9", "--num-callers=30", "--log-file=%s/vg.%%p.log" % logdir]
    srv = tycho.Server(workers=2, wrapper=wrapper, start_timeout=60)
    try:
        t = 30
        for path, want in [("/json", 200), ("/status/204", 204), ("/status/101", 500), ("/missing", 404),
                           ("/sleep/20", 200)]:
            r = tycho.request(srv.public, path=path, timeout=t)
            check(r.status == want, "%s: %r" % (path, r))
        r = tycho.request(srv.public, "POST", "/echo", body=b"x" * 5000, timeout=t)
        check(r.status == 200 and len(r.body) == 5000, "echo")
        c = tycho.Conn(srv.public, timeout=t)
        c.send(b"GET /json HTTP/1.1\r\nHost: t\r\n\r\n" * 5 + b"GET / HTTP/1.1\r\nHost : x\r\n\r\n")
        got = [c.read_response(timeout=t).status for _ in range(6)]
        check(got == [200] * 5 + [400], "pipelined: %s" % got)
        c2 = tycho.Conn(srv.public, timeout=t)
        c2.send(b"POST /echo HTTP/1.1\r\nHost: t\r\nExpect: 100-continue\r\nTransfer-Encoding: chunked\r\n\r\n")
        check(c2.read_response(timeout=t).status == 100, "100 Continue")
        c2.send(b"3\r\nabc\r\n0\r\n\r\n")
        check(c2.read_response(timeout=t).body == b"abc", "chunked echo")
        idle = tycho.Conn(srv.public, timeout=t)  # open and idle at shutdown
        slow = tycho.Conn(srv.public, timeout=t)
        slow.send(b"GET /sleep/300 HTTP/1.1\r\nHost: t\r\n\r\n")
        for p in ("/-/status", "/-/ready", "/-/healthy"):
            check(tycho.request(srv.admin, path=p, timeout=t).status == 200, p)
        check(tycho.request(srv.admin, "POST", "/-/reload", timeout=t).status == 200, "reload")
        srv.signal(signal.SIGTERM)
        r = slow.read_response(timeout=t)
        check(r is not None and r.status == 200, "the running handler finished during the drain")
        rc = srv.wait(60)
        idle.close()
        logs = glob.glob(os.path.join(logdir, "vg.*.log"))
        text = "".join(open(f).read() for f in logs)
        summary = [line for line in text.splitlines() if "ERROR SUMMARY" in line or "lost:" in line
                   or "in use at exit" in line]
        print("\n".join(summary))
        check(rc == 0, "exit code %s under valgrind:\n%s" % (rc, text[-4000:]))
        check("ERROR SUMMARY: 0 errors" in text, "memcheck errors:\n%s" % text[-4000:])
    finally:
        srv.kill()
        shutil.rmtree(logdir, ignore_errors=True)


if __name__ == "__main__":
    tycho.run_main(main)
