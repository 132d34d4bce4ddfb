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
3. vim's save (a.lua renamed to the backup a.lua~, the new a.lua written,
   the backup deleted) next to its swap file .a.lua.swp, and emacs' files
   (#a.lua#, the lock .#a.lua: a symbolic link to nowhere): the answers are
   the old or the new version, the editor's own files reload nothing.
4. Every route file deleted (a deploy that empties the folder before it
   fills it again): the reload serves no routes (404), and the next file
   written loads. (The sanitizer build aborted on that load: qsort given
   the NULL list of no files.)
5. A Kubernetes ConfigMap volume updated as the kubelet does it: the files
   are links into ..data, a link to a timestamped folder; a new folder is
   written, ..data switched to it by rename, the old folder deleted. Every
   update reloads, without a failed reload or a failed request, and the
   process keeps the same number of open files.
"""
import json
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


def editor_files(srv, routes, path):
    client = Client(srv)
    gen = status_generation(srv)
    tycho.write(os.path.join(routes, ".a.lua.swp"), "b0VIM 9.0\0")
    tycho.write(os.path.join(routes, "#a.lua#"), route("emacs autosave"))
    os.symlink("user@host.1234:1700000000", os.path.join(routes, ".#a.lua"))
    time.sleep(PAUSE)
    check(status_generation(srv) == gen, "the editors' files reloaded")
    os.rename(path, path + "~")
    tycho.write(path, route("v4"))
    os.remove(path + "~")
    wait_answer(srv, b"v4")
    for name in (".a.lua.swp", "#a.lua#", ".#a.lua"):
        os.remove(os.path.join(routes, name))
    time.sleep(0.2)
    seen = client.stop()
    check(set(seen) <= {(200, "v3"), (200, "v4")}, "answers during vim's save: %r" % seen)
    print("vim's save by rename, swap and emacs files: %r" % seen)


def emptied(srv, routes, path):
    gen = status_generation(srv)
    os.remove(path)
    end = time.time() + 5 * tycho.SLOW
    while status_generation(srv) == gen and time.time() < end:
        time.sleep(0.05)
    check(status_generation(srv) > gen, "no reload after the last route file was deleted")
    r = tycho.request(srv.public, "GET", "/a")
    check(r.status == 404, "GET /a with no route file: %d" % r.status)
    tycho.write(path, route("v5"))
    wait_answer(srv, b"v5")
    print("every route file deleted: 404; the next file written: served")


def configmap(srv, routes, path):
    """The kubelet's AtomicWriter, as seen in a ConfigMap volume."""
    os.remove(path)  # a.lua becomes the volume's link (n == 0), then the client starts
    old = None
    since = len(srv.records())
    client = None
    fds = None
    for n in range(12):
        ts = os.path.join(routes, "..2026_11_28_08_00_%02d.%d" % (n, os.getpid()))
        os.mkdir(ts)
        tycho.write(os.path.join(ts, "a.lua"), route("cm%d" % n))
        os.symlink(os.path.basename(ts), os.path.join(routes, "..data_tmp"))
        os.rename(os.path.join(routes, "..data_tmp"), os.path.join(routes, "..data"))
        if not os.path.lexists(path):
            os.symlink(os.path.join("..data", "a.lua"), path)
        if old:
            shutil.rmtree(old)
        old = ts
        wait_answer(srv, b"cm%d" % n)
        client = client or Client(srv)
        time.sleep(PAUSE / 2)
        if n == 2:
            fds = len(os.listdir("/proc/%d/fd" % srv.proc.pid))
    seen = client.stop()
    after = len(os.listdir("/proc/%d/fd" % srv.proc.pid))
    check(all(s == 200 for s, _ in seen), "answers during the updates: %r" % seen)
    check(not reload_errors(srv, since), "reload failures: %r" % reload_errors(srv, since))
    check(after <= fds + 2, "open files %d after the updates, %d after the third" % (after, fds))
    print("ConfigMap updated 12 times: every update served, open files %d -> %d" % (fds, after))


def status_generation(srv):
    return json.loads(tycho.request(srv.admin, "GET", "/-/status").body)["generation"]


def main():
    tmp = tempfile.mkdtemp(prefix="tycho-midsave-")
    try:
        path = os.path.join(tmp, "a.lua")
        tycho.write(path, route("v1"))
        with tycho.Server(workers=2, routes=tmp, env={"TYCHO_RELOAD": "on"}) as srv:
            truncated_then_written(srv, path)
            bom_crlf(srv, path)
            editor_files(srv, tmp, path)
            emptied(srv, tmp, path)
            configmap(srv, tmp, path)
            check(srv.stop() == 0, "clean exit")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    tycho.run_main(main)
