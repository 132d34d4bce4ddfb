#!/usr/bin/env python3
"""How `tycho serve` starts and stops as a process, the way an operator (or
a container runtime) drives it: signals at any moment, stdout that nobody
reads, a port another instance holds, stdio closed at start.

usage: lifecycle.py CASE (one of CASES below; each test_<case>.sh runs one)
"""
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import tycho  # noqa: E402
from tycho import check  # noqa: E402


free_port = tycho.free_port


def wait_port(port, timeout):
    """True once 127.0.0.1:port accepts a connection."""
    end = time.time() + timeout * tycho.SLOW
    while time.time() < end:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return True
        except OSError:
            time.sleep(0.02)
    return False


def exit_code(proc, timeout):
    """The exit code once proc ends within timeout seconds, else None (and proc killed)."""
    try:
        return proc.wait(timeout * tycho.SLOW)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
        return None


def serve(work, routes=tycho.ROUTES, args=(), port=None, **popen):
    """`tycho serve` on fixed ports, free ones unless port is given (its
    stdout may be nobody's to read): the process and its public port."""
    port = port or free_port()
    cmd = [tycho.BIN, "serve", "--routes", routes, "--listen", "127.0.0.1:%d" % port,
           "--admin-listen", "127.0.0.1:%d" % free_port(), "--workers", "1", "--no-reload",
           "--data-dir", os.path.join(work, "data")] + list(args)
    return subprocess.Popen(cmd, start_new_session=True, **popen), port


# A stop's bound (README, graceful shutdown): the drain timeout, plus the
# second the telemetry's final flush gets when the drain used all of it
# (TYCHO_HUB_FLUSH_FLOOR_MS).
DRAIN_S = 1
FLUSH_FLOOR_S = 1.0


def stop_with_stdout_full(work, env=None):
    """SIGTERM ends the process within the stop's bound, exit 0, though
    stdout is a pipe nobody reads (full): the log sink's flush gives up at
    the telemetry's deadline, the lines after it at the drain deadline, and
    one stderr line counts every line stdout did not take."""
    err = open(os.path.join(work, "err"), "wb")
    proc, port = serve(work, args=("--drain-timeout", str(DRAIN_S)), stdout=subprocess.PIPE,
                       stderr=err, env=env)
    try:
        check(wait_port(port, 10), "did not start")
        c = tycho.Conn(("127.0.0.1", port))
        for _ in range(1500):  # access lines: far more than a pipe holds
            c.send(b"GET /json HTTP/1.1\r\nHost: t\r\n\r\n")
            check(c.read_response() is not None, "no response")
        c.close()
        t0 = time.time()
        proc.send_signal(signal.SIGTERM)
        rc = exit_code(proc, 8)
        took = time.time() - t0
        check(rc is not None, "still running 8 s after SIGTERM with stdout full")
        check(rc == 0, "exit code %d" % rc)
        bound = DRAIN_S + FLUSH_FLOOR_S + 0.5 * tycho.SLOW
        check(took < bound, "the stop took %.1f s with stdout full (bound %.1f s)" % (took, bound))
        text = open(os.path.join(work, "err")).read()
        said = [json.loads(line) for line in text.splitlines() if "log lines lost" in line]
        check(len(said) <= 1, "stderr should count the lost lines once: %r" % text)
        # A pipe holds a few hundred of the 1500 access lines; every other
        # one, dropped or cut at the deadline, is told: by the log sink's
        # report, when the pipe still had room for it (it is then in the
        # pipe, read now), else by the stderr line. (The line the deadline
        # cut half-written stays torn: searched, not parsed.)
        out = proc.stdout.read().decode(errors="replace")
        lost = 1500 - out.count('"msg":"access"')
        on_stdout = max([int(n) for n in re.findall(
            r'"msg":"log lines dropped: [^"]*".*?"dropped_total":(\d+)', out)] or [0])
        on_stderr = said[0]["lines"] if said else 0
        check(on_stdout + on_stderr >= lost,
              "%d access lines lost; told: %d on stdout, %d on stderr" %
              (lost, on_stdout, on_stderr))
        print("  exit 0 %.1f s after SIGTERM; %d access lines lost; told: %d on stdout, %d on "
              "stderr" % (took, lost, on_stdout, on_stderr))
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.stdout.close()


def stdout_full(work):
    """A stop with stdout full (stop_with_stdout_full)."""
    stop_with_stdout_full(work)


def stdout_full_exporting(work):
    """The same with an OTLP receiver that never answers: the exporters'
    flush uses all of its deadline, and the log sink's flush gets only what
    is left of it, not 2 s more."""
    stalled = socket.socket()
    stalled.bind(("127.0.0.1", 0))
    stalled.listen(16)  # never accepted: connections wait in the backlog, unanswered
    env = dict(os.environ, OTEL_EXPORTER_OTLP_TRACES_ENDPOINT="http://127.0.0.1:%d/v1/traces" %
               stalled.getsockname()[1])
    try:
        stop_with_stdout_full(work, env=env)
    finally:
        stalled.close()


def second_instance(work):
    """A second tycho on the public port of a running one (its admin port
    free) fails to start, "Address already in use", rather than sharing the
    port (SO_REUSEPORT) and half the traffic."""
    with tycho.Server(workers=2) as first:
        second, _ = serve(work, port=first.public[1], args=("--workers", "2"),
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        try:
            out, err = second.communicate(timeout=10 * tycho.SLOW)
        except subprocess.TimeoutExpired:
            second.kill()
            out, err = second.communicate()
            raise tycho.Failure("a second instance started on %s: %r" % (
                tycho.authority(first.public), out.decode()[:300]))
        err = err.decode()
        check(second.returncode != 0, "rc %d" % second.returncode)
        check("Address already in use" in err, "stderr: %r" % err)
        check(tycho.request(first.public, path="/json").status == 200, "the first stopped serving")
        print("  second instance: rc %d: %s" % (second.returncode, err.strip()))


def second_signal(work):
    """A second SIGTERM during the drain exits at once, exit 1, and its line
    reaches stderr (written before _exit, not queued for the log sink)."""
    with tycho.Server() as srv:
        c = tycho.Conn(srv.public)
        c.send(b"GET /sleep/10000 HTTP/1.1\r\nHost: t\r\n\r\n")  # keeps the drain going
        time.sleep(0.2)
        srv.signal(signal.SIGTERM)
        check(srv.wait_log(lambda r: r.get("msg", "").startswith("shutting down"), 5 * tycho.SLOW),
              "no shutting down line")
        time.sleep(0.3)  # the same signal within 100 ms is the same request (repeated_signal)
        srv.signal(signal.SIGTERM)
        rc = srv.wait(5)
        check(rc == 1, "exit code %d after a second signal" % rc)
        for t in srv._pumps:
            t.join(2)
        err = "\n".join(srv.stderr)
        check("second signal: exiting now" in err, "no second-signal line on stderr: %r" % err)
        c.close()
        print("  rc 1; stderr: %s" % err.strip())


def repeated_signal(work):
    """SIGTERM sent twice back to back (timeout(1) and kill 0 send it to the
    process, then to its group) is one request to stop: the drain goes on,
    the request in flight is answered, exit 0. It was taken for a second
    signal: exit 1 at once, the request cut."""
    with tycho.Server() as srv:
        c = tycho.Conn(srv.public)
        c.send(b"GET /sleep/1000 HTTP/1.1\r\nHost: t\r\n\r\n")
        time.sleep(0.2)
        os.kill(srv.proc.pid, signal.SIGTERM)
        time.sleep(0.01)  # seen as two deliveries, not merged into one pending signal
        os.kill(srv.proc.pid, signal.SIGTERM)
        r = c.read_response(timeout=10 * tycho.SLOW)
        rc = srv.wait(10)
        for t in srv._pumps:
            t.join(2)
        err = "\n".join(srv.stderr)
        check(r is not None and r.status == 200, "the request in flight: %r" % r)
        check(rc == 0, "exit code %r after SIGTERM twice at once; stderr %r" % (rc, err))
        check("second signal" not in err, "taken for a second signal: %r" % err)
        # (its own line, unless the kernel merged the two into one pending signal)
        seen = srv.wait_log(lambda x: x.get("msg", "").startswith("the same signal again"), 1)
        c.close()
    # the way a CI job bounds a server: timeout signals tycho and its group
    routes = tycho.ROUTES
    out = open(os.path.join(work, "out"), "wb")
    port = free_port()
    cmd = ["timeout", "--preserve-status", "-s", "TERM", "2", tycho.BIN, "serve", "--routes", routes,
           "--listen", "127.0.0.1:%d" % port, "--admin-listen", "127.0.0.1:%d" % free_port(),
           "--workers", "1", "--no-reload", "--data-dir", os.path.join(work, "data")]
    proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    rc = exit_code(proc, 15)
    log = open(os.path.join(work, "out")).read()
    check(rc == 0, "timeout -s TERM 2 tycho serve: exit %r; log %r" % (rc, log[-400:]))
    check('"stopped"' in log and "second signal" not in log, "log: %r" % log[-400:])
    print("  SIGTERM twice at once: the request answered, exit 0 (repeat logged: %s); "
          "under timeout(1): exit 0" % bool(seen))


SLOW_ROUTES = '''-- loading takes a while: start-up is still under way
local t = os.clock()
while os.clock() - t < 1.5 do end
return { { "GET", "/ok", function() return 200, "ok" end } }
'''


def early_signal(work):
    """A SIGTERM while the routes still load (the sockets already bound)
    does not kill the process: once start-up is done it drains and exits 0,
    with its log lines."""
    routes = os.path.join(work, "routes")
    os.mkdir(routes)
    with open(os.path.join(routes, "slow.lua"), "w") as f:
        f.write(SLOW_ROUTES)
    out = open(os.path.join(work, "out"), "wb")
    proc, port = serve(work, routes=routes, stdout=out, stderr=subprocess.STDOUT)
    try:
        check(wait_port(port, 10), "the public port never accepted")  # bound before the routes load
        proc.send_signal(signal.SIGTERM)
        rc = exit_code(proc, 15)
        log = open(os.path.join(work, "out")).read()
        check(rc is not None, "still running 15 s after SIGTERM")
        check(rc == 0, "exit code %d after SIGTERM during start-up; log: %r" % (rc, log[-300:]))
        for msg in ('"shutting down', '"stopped"'):
            check(msg in log, "no %s line: %r" % (msg, log[-500:]))
        print("  exit 0; %d log lines" % len(log.splitlines()))
    finally:
        if proc.poll() is None:
            proc.kill()


def closed_stdio(work):
    """Started with stdin, stdout and stderr closed, tycho holds /dev/null
    on 0-2 (not a socket it opens later) and serves."""
    def close_std():
        for fd in (0, 1, 2):
            os.close(fd)

    proc, port = serve(work, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL, preexec_fn=close_std)
    try:
        check(wait_port(port, 10), "did not start")
        fds = {fd: os.readlink("/proc/%d/fd/%d" % (proc.pid, fd)) for fd in (0, 1, 2)}
        check(all(v == "/dev/null" for v in fds.values()), "fds 0-2: %r" % fds)
        check(tycho.request(("127.0.0.1", port), path="/json").status == 200, "no answer")
        proc.send_signal(signal.SIGTERM)
        rc = exit_code(proc, 10)
        check(rc == 0, "exit code %r" % rc)
        print("  fds 0-2: %r; served; exit 0" % fds)
    finally:
        if proc.poll() is None:
            proc.kill()


CASES = {f.__name__: f for f in (stdout_full, stdout_full_exporting, second_instance,
                                  second_signal, repeated_signal, early_signal, closed_stdio)}


def main():
    case = CASES[sys.argv[1]]
    work = tempfile.mkdtemp(prefix="tycho-ops-")
    try:
        case(work)
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    tycho.run_main(main)
