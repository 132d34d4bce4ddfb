#!/usr/bin/env python3
"""Live edits as editors make them, on a real `tycho serve` (two workers,
TYCHO_RELOAD=on) answering a client all along (docs/routes.md, Hot reload,
"Files caught mid-save"):

1. An editor that truncates the file, then writes it in two steps with a
   pause longer than the watcher's quiet time between each: the watcher
   sees an empty file, then half a file. Each fails its reload naming the
   file (`returned nothing`, a syntax error at its line), every request
   meanwhile gets the old answer or the new one (never a 404 or a 500), and
   the write that completes the file reloads.
2. A file saved with a UTF-8 byte order mark and CRLF line endings loads,
   and a handler error in it names the line an editor shows.
"""
import os
import shutil
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import tycho  # noqa: E402
from tycho import check  # noqa: E402

PAUSE = 0.6 * tycho.SLOW  # past the 150 ms quiet time and a reload


def route(version):
    return ('local answer = "%s"\n'
            'return {\n'
            '  ["GET /a"] = function() return answer end,\n'
            '}\n' % version)


class Client:
    """GET /a on new connections, until stopped; the answers seen."""

    def __init__(self, srv):
        self.srv, self.stop_ = srv, threading.Event()
        self.seen = {}
        self.t, self.out = tycho.in_thread(self.run)

    def run(self):
        while not self.stop_.is_set():
            r = tycho.request(self.srv.public, "GET", "/a", timeout=10)
            key = (r.status, r.body.decode("utf-8", "replace") if r.status == 200 else "")
            self.seen[key] = self.seen.get(key, 0) + 1

    def stop(self):
        self.stop_.set()
        self.t.join(30)
        check("e" not in self.out, "the client failed: %r" % self.out.get("e"))
        return self.seen


def reload_errors(srv, since):
    return [r.get("error", "") for r in srv.records()[since:]
            if r.get("msg") == "reload failed; previous routes keep serving"]


def wait_answer(srv, body):
    end = time.time() + 5 * tycho.SLOW
    while time.time() < end:
        r = tycho.request(srv.public, "GET", "/a")
        if r.status == 200 and r.body == body:
            return
        time.sleep(0.05)
    raise tycho.Failure("GET /a never answered %r (last: %d %r)" % (body, r.status, r.body))


def truncated_then_written(srv, path):
    since = len(srv.records())
    client = Client(srv)
    time.sleep(0.2)
    text = route("v2")
    cut = text.index("function")  # half a file: the route table still open
    with open(path, "r+") as f:
        f.truncate(0)
        f.flush()
        time.sleep(PAUSE)
        f.write(text[:cut])
        f.flush()
        time.sleep(PAUSE)
        f.write(text[cut:])
    wait_answer(srv, b"v2")
    time.sleep(0.2)
    seen = client.stop()
    check(set(seen) <= {(200, "v1"), (200, "v2")},
          "answers during the save: %r (want only 200 v1 / v2)" % seen)
    check(seen.get((200, "v1")) and seen.get((200, "v2")), "not both versions seen: %r" % seen)
    errors = reload_errors(srv, since)
    check(any(path + ": returned nothing" in e for e in errors),
          "no 'returned nothing' reload failure for the empty file: %r" % errors)
    check(any(e.startswith(path + ":3: ") for e in errors),
          "no syntax error at line 3 for the half file: %r" % errors)
    print("truncated, then written in two steps: %r; reload failures %r"
          % (seen, [e[len(os.path.dirname(path)) + 1:][:60] for e in errors]))


def bom_crlf(srv, path):
    since = len(srv.records())
    with open(path, "wb") as f:
        f.write(b"\xef\xbb\xbf-- saved on Windows\r\n"
                b'local answer = "v3"\r\n'
                b"return {\r\n"
                b'  ["GET /a"] = function() return answer end,\r\n'
                b'  ["GET /e"] = function()\r\n'
                b"\r\n"
                b'    error("on line 7")\r\n'
                b"  end,\r\n"
                b"}\r\n")
    wait_answer(srv, b"v3")
    r = tycho.request(srv.public, "GET", "/e")
    check(r.status == 500, "GET /e: %d" % r.status)
    rec = srv.wait_log(lambda x: x.get("msg") == "handler error" and x.get("route") == "/e",
                       5 * tycho.SLOW)
    check(rec is not None, "no handler error line for /e")
    check(rec["error"] == path + ":7: on line 7", "error %r, want line 7" % rec["error"])
    check(not reload_errors(srv, since), "reload failures: %r" % reload_errors(srv, since))
    print("BOM and CRLF: loaded; the handler error names line 7")


def main():
    tmp = tempfile.mkdtemp(prefix="tycho-midsave-")
    try:
        path = os.path.join(tmp, "a.lua")
        tycho.write(path, route("v1"))
        with tycho.Server(workers=2, routes=tmp, env={"TYCHO_RELOAD": "on"}) as srv:
            truncated_then_written(srv, path)
            bom_crlf(srv, path)
            check(srv.stop() == 0, "clean exit")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    tycho.run_main(main)
