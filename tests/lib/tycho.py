"""Shared helpers for the integration tests: start the real tycho binary on
ephemeral loopback ports, talk to it with raw sockets, read its JSON log.

Standard library only; run with /usr/bin/python3. The binary comes from
$TYCHO_BIN (set by ctest), else build/tycho under $TYCHO_SRC or the repo.
"""
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

SRC = os.environ.get("TYCHO_SRC") or os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
BIN = os.environ.get("TYCHO_BIN") or os.path.join(SRC, "build", "tycho")
# The routes the HTTP engine tests use (JSON, echo, any status, a sleeping handler).
ROUTES = os.path.join(SRC, "tests", "integration", "routes")
# TYCHO_SANITIZE is the build's CMake setting: ON (ASan + UBSan) or thread (TSan).
SANITIZER = os.environ.get("TYCHO_SANITIZE", "").upper()
THREAD_SANITIZED = SANITIZER == "THREAD"
SANITIZED = THREAD_SANITIZED or SANITIZER in ("ON", "1", "TRUE", "YES")
# Time scale: sanitizer and valgrind builds are slower, ThreadSanitizer most.
SLOW = 5.0 if THREAD_SANITIZED else 3.0 if SANITIZED else 1.0


class Failure(Exception):
    pass


def check(cond, msg):
    if not cond:
        raise Failure(msg)


class Server:
    """A running `tycho serve`: .public and .admin are (host, port)."""

    def __init__(self, args=(), env=None, workers=1, cwd=None, wrapper=(), start_timeout=10.0,
                 routes=ROUTES):
        e = {k: v for k, v in os.environ.items() if not k.startswith("TYCHO_") or k in ("TYCHO_BIN",)}
        e["TYCHO_RELOAD"] = "off"
        e["TYCHO_ROUTES"] = routes
        self.data_dir = tempfile.mkdtemp(prefix="tycho-test-")
        e["TYCHO_DATA_DIR"] = self.data_dir
        if env:
            e.update({k: str(v) for k, v in env.items()})
        cmd = list(wrapper) + [BIN, "serve", "--listen", "127.0.0.1:0", "--admin-listen",
                               "127.0.0.1:0", "--workers", str(workers)] + list(args)
        self.cmd = cmd
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=e,
                                     cwd=cwd, start_new_session=True)
        self.lines = []
        self.stderr = []
        self._cv = threading.Condition()
        self._pumps = [threading.Thread(target=self._pump, args=(f, out), daemon=True)
                       for f, out in ((self.proc.stdout, self.lines), (self.proc.stderr, self.stderr))]
        for t in self._pumps:
            t.start()
        first = self.wait_log(lambda r: r.get("msg") == "listening", start_timeout * SLOW)
        if not first:
            self.kill()
            raise Failure("tycho did not start: stdout=%r stderr=%r" % (self.lines[-5:], self.stderr[-5:]))
        self.public = _addr(first["public"])
        self.admin = _addr(first["admin"])

    def _pump(self, f, out):
        for raw in iter(f.readline, b""):
            line = raw.decode("utf-8", "replace").rstrip("\n")
            with self._cv:
                out.append(line)
                self._cv.notify_all()
        with self._cv:
            self._cv.notify_all()

    def records(self):
        out = []
        with self._cv:
            lines = list(self.lines)
        for line in lines:
            try:
                out.append(json.loads(line))
            except ValueError:
                pass
        return out

    def wait_log(self, pred, timeout=5.0):
        end = time.time() + timeout
        seen = 0
        while True:
            with self._cv:
                lines = self.lines[seen:]
                seen = len(self.lines)
            for line in lines:
                try:
                    r = json.loads(line)
                except ValueError:
                    continue
                if pred(r):
                    return r
            left = end - time.time()
            if left <= 0:
                return None
            if self.proc.poll() is not None:
                for t in self._pumps:  # read what the process wrote before it exited
                    t.join(2)
                if seen == len(self.lines):
                    return None
                continue
            with self._cv:
                if len(self.lines) == seen:
                    self._cv.wait(min(left, 0.2))

    def signal(self, sig=signal.SIGTERM):
        self.proc.send_signal(sig)

    def ready_status(self):
        """The admin port's /-/ready status, None if it does not answer."""
        try:
            return request(self.admin, path="/-/ready", timeout=2).status
        except (OSError, Failure):
            return None

    def wait_draining(self, timeout):
        """Polls /-/ready until it answers 503 (the drain has begun) or
        timeout seconds pass; the last status seen."""
        end = time.time() + timeout
        status = self.ready_status()
        while status != 503 and time.time() < end:
            time.sleep(0.05)
            status = self.ready_status()
        return status

    def wait(self, timeout=30.0):
        try:
            return self.proc.wait(timeout * SLOW)
        except subprocess.TimeoutExpired:
            self.kill()
            raise Failure("tycho did not exit within %.0fs" % (timeout * SLOW))

    def stop(self, timeout=30.0):
        if self.proc.poll() is None:
            self.signal(signal.SIGTERM)
        return self.wait(timeout)

    def kill(self):
        """Ends the process if it still runs and removes its data directory."""
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        shutil.rmtree(self.data_dir, ignore_errors=True)

    def cpu_seconds(self):
        """User + system CPU time of the process so far (from /proc)."""
        with open("/proc/%d/stat" % self.proc.pid) as f:
            fields = f.read().rsplit(")", 1)[1].split()
        tick = os.sysconf("SC_CLK_TCK")
        return (int(fields[11]) + int(fields[12])) / tick

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.kill()


def _addr(s):
    host, port = s.rsplit(":", 1)
    return host.strip("[]"), int(port)


# --- raw HTTP/1.1 client -----------------------------------------------------

class Response:
    def __init__(self, status, reason, headers, body, raw):
        self.status = status
        self.reason = reason
        self.headers = headers  # list of (name, value)
        self.body = body
        self.raw = raw

    def header(self, name):
        for k, v in self.headers:
            if k.lower() == name.lower():
                return v
        return None

    def headers_named(self, name):
        return [v for k, v in self.headers if k.lower() == name.lower()]

    def __repr__(self):
        return "<%d %s %r>" % (self.status, self.reason, self.body[:80])


class Conn:
    """A raw socket to the server; reads responses with a strict parser."""

    def __init__(self, addr, timeout=5.0):
        self.sock = socket.create_connection(addr, timeout=timeout * SLOW)
        self.buf = b""
        self.closed = False  # the server closed its side (EOF read)
        self.reset = False

    def send(self, data):
        if isinstance(data, str):
            data = data.encode("latin-1")
        self.sock.sendall(data)

    def _fill(self, timeout):
        self.sock.settimeout(timeout)
        try:
            d = self.sock.recv(65536)
        except ConnectionResetError:
            self.reset = True
            self.closed = True
            return False
        except socket.timeout:
            return None
        if not d:
            self.closed = True
            return False
        self.buf += d
        return True

    def read_response(self, head=False, timeout=5.0):
        """The next response (1xx included); None if the connection closed
        first; raises Failure on a truncated or malformed response."""
        timeout *= SLOW
        end = time.time() + timeout
        while b"\r\n\r\n" not in self.buf:
            if self.closed:
                check(not self.buf, "truncated response head: %r" % self.buf[:200])
                return None
            left = end - time.time()
            check(left > 0, "timeout waiting for a response head (have %r)" % self.buf[:200])
            self._fill(left)
        hend = self.buf.index(b"\r\n\r\n")
        head_bytes = self.buf[:hend].decode("latin-1")
        self.buf = self.buf[hend + 4:]
        lines = head_bytes.split("\r\n")
        parts = lines[0].split(" ", 2)
        check(len(parts) >= 2 and parts[0] == "HTTP/1.1" and parts[1].isdigit() and len(parts[1]) == 3,
              "bad status line %r" % lines[0])
        status = int(parts[1])
        headers = []
        for line in lines[1:]:
            check(":" in line and not line[0].isspace(), "bad header line %r" % line)
            k, v = line.split(":", 1)
            check(k == k.strip() and k, "bad header name %r" % line)
            headers.append((k, v.strip()))
        r = Response(status, parts[2] if len(parts) > 2 else "", headers, b"", head_bytes)
        if status < 200 or status in (204, 304) or head:
            check(r.header("Transfer-Encoding") is None, "TE on a bodiless response")
            return r
        cl = r.headers_named("Content-Length")
        check(len(cl) == 1 and cl[0].isdigit(), "response without one Content-Length: %r" % headers)
        n = int(cl[0])
        while len(self.buf) < n:
            check(not self.closed, "truncated body: %d of %d bytes" % (len(self.buf), n))
            left = end - time.time()
            check(left > 0, "timeout reading a body")
            self._fill(left)
        r.body, self.buf = self.buf[:n], self.buf[n:]
        return r

    def wait_closed(self, timeout=3.0):
        """True if the server closes the connection (EOF or reset) within
        timeout, with no further bytes."""
        end = time.time() + timeout * SLOW
        while not self.closed:
            left = end - time.time()
            if left <= 0:
                return False
            if self._fill(left) is None:
                return False
        return not self.buf

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass


def write(path, text):
    """Writes text to path (a route file, a fixture), replacing what was there."""
    with open(path, "w") as f:
        f.write(text)


def in_thread(fn):
    """Runs fn in a daemon thread. Returns (thread, out): once the thread
    ended, out["r"] holds fn's result or out["e"] the exception it raised,
    and out["t"] when it ended (time.time())."""
    out = {}

    def run():
        try:
            out["r"] = fn()
        except Exception as e:  # noqa: BLE001 - the caller checks out["e"]
            out["e"] = e
        out["t"] = time.time()
    t = threading.Thread(target=run, daemon=True)
    t.start()
    return t, out


def free_port():
    """A loopback port nothing listens on now (bound, then closed): a free
    port to give a server, or one that refuses connections."""
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


_THIRD_LOAD_FAILS = '''local dir = %r
local taken = 0
for i = 1, 3 do
  if os.rename(dir .. "/token" .. i, dir .. "/taken" .. i) then taken = i break end
end
if taken == 3 then error("flaky: the third load fails") end
return { ["GET /flaky"] = function() return "flaky" end }
'''


def arm_third_load_failure(routes, tokens):
    """Makes the next reload fail on one worker after its pre-check passed:
    routes/flaky.lua takes one of three token files in tokens per load
    (os.rename is atomic), and the load that takes the third (the second
    worker's, after the pre-check's and the first worker's) raises
    'flaky: the third load fails'. A later reload finds no token and loads."""
    for i in (1, 2, 3):
        with open(os.path.join(tokens, "token%d" % i), "w"):
            pass
    with open(os.path.join(routes, "flaky.lua"), "w") as f:
        f.write(_THIRD_LOAD_FAILS % tokens)


def check_three_loads(tokens):
    """The reload armed by arm_third_load_failure loaded flaky.lua three times."""
    check(sorted(os.listdir(tokens)) == ["taken1", "taken2", "taken3"],
          "not three loads: %r" % os.listdir(tokens))


_SLOW_WORKER_LOADS = '''local dir, seconds = %r, %r
-- the first load, the reload's pre-check, takes the token and goes on
if not os.rename(dir .. "/precheck", dir .. "/precheck.taken") then
  local f = assert(io.open(dir .. "/loading", "a"))
  f:write("a worker loads\\n")
  f:close()
  local mono = require("tycho.time").monotonic
  local t = mono()
  while mono() - t < seconds do end
end
return { ["GET /slow-load"] = function() return "slow-load" end }
'''


def arm_slow_worker_loads(routes, marks, seconds):
    """Makes the next reload pass its pre-check at once, then keeps every
    worker loading for `seconds` (wall clock, busy): routes/z_slow_load.lua
    (loaded after the other route files) lets the load that takes the token
    file marks/precheck go on, and each later one appends a line to
    marks/loading before it waits. workers_loading(marks) counts them."""
    with open(os.path.join(marks, "precheck"), "w"):
        pass
    with open(os.path.join(routes, "z_slow_load.lua"), "w") as f:
        f.write(_SLOW_WORKER_LOADS % (marks, seconds))


def workers_loading(marks):
    """How many worker loads arm_slow_worker_loads' route file has started."""
    try:
        with open(os.path.join(marks, "loading")) as f:
            return len(f.read().splitlines())
    except FileNotFoundError:
        return 0


def authority(addr):
    """host:port of an (ip, port) address, as a client puts it in Host."""
    host, port = addr[0], addr[1]
    return "[%s]:%d" % (host, port) if ":" in host else "%s:%d" % (host, port)


def request(addr, method="GET", path="/", headers=(), body=b"", timeout=5.0):
    """One request on a new connection (Host: the address, as curl sends it,
    unless headers has one); returns the Response."""
    c = Conn(addr, timeout)
    try:
        h = "".join("%s: %s\r\n" % kv for kv in headers)
        if body and not any(k.lower() == "content-length" for k, _ in headers):
            h += "Content-Length: %d\r\n" % len(body)
        if not any(k.lower() == "host" for k, _ in headers):
            h = "Host: %s\r\n" % authority(addr) + h
        c.send(("%s %s HTTP/1.1\r\n%s\r\n" % (method, path, h)).encode("latin-1") + body)
        r = c.read_response(head=(method == "HEAD"), timeout=timeout)
        check(r is not None, "connection closed without a response")
        return r
    finally:
        c.close()


def promtool_check(text):
    """Fails unless `promtool check metrics` accepts the exposition text
    without a word (the Debian package prometheus has promtool)."""
    promtool = shutil.which("promtool")
    check(promtool, "promtool is required (Debian package prometheus): not found")
    p = subprocess.run([promtool, "check", "metrics"], input=text.encode(), capture_output=True)
    out = (p.stdout + p.stderr).decode().strip()
    check(p.returncode == 0 and not out, "promtool check metrics: rc=%d %s" % (p.returncode, out))


def run_main(main):
    """Runs main() and prints the closing line; exit 1 on failure."""
    t0 = time.time()
    try:
        main()
    except Failure as e:
        print("FAIL: %s" % e)
        sys.exit(1)
    print("ok (%.1fs)" % (time.time() - t0))
