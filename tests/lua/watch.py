#!/usr/bin/env python3
"""The route watcher of a real `tycho serve` (two workers, TYCHO_RELOAD=on):

1. A folder is a folder whatever its name: `api.v2` created with a route
   file in it is served, an edit inside it is served, and once it is moved
   away its routes are gone — each without a manual reload.
2. Only the route set counts: files other than *.lua (README, Makefile,
   vim's probe file 4913), hidden *.lua files and hidden folders do not
   reload; a *.lua edit next to them still does.
3. An edit made while the workers start (here: the first worker's load
   writes a new route file, which only the second worker reads) reloads
   them all, so every worker ends up serving the same routes.
4. Symbolic links: a routes folder that is a link switched to another
   release (ln -sfn) reloads, and the old release's edits no longer do; a
   route file that is a link to a file elsewhere reloads when that file is
   edited, in place or saved by rename.
"""
import json
import os
import shutil
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import tycho  # noqa: E402
from tycho import write  # noqa: E402
from tycho import check  # noqa: E402

RELOAD_WAIT = 5.0 * tycho.SLOW
QUIET = 1.0 * tycho.SLOW  # well past the 150 ms debounce and a reload

# Loaded first by the first worker: writes z.lua, which that worker's listing
# of the folder no longer sees but the second worker's does.
WRITES_Z = '''local dir = debug.getinfo(1, "S").source:match("^@(.*)/[^/]+$")
local f = io.open(dir .. "/z.lua")
if f then
  f:close()
else
  f = assert(io.open(dir .. "/z.lua", "w"))
  f:write('return { ["GET /z"] = function() return "z" end }\\n')
  f:close()
end
return { ["GET /a"] = function() return "a" end }
'''


def route(path, body):
    return 'return { ["GET %s"] = function() return "%s" end }\n' % (path, body)


def status(srv):
    r = tycho.request(srv.admin, "GET", "/-/status")
    check(r.status == 200, "/-/status answered %d" % r.status)
    return json.loads(r.body)


def wait_generation(srv, above, what):
    """Waits until every worker serves a generation above `above`."""
    end = time.time() + RELOAD_WAIT
    while time.time() < end:
        gens = status(srv)["worker_generations"]
        if min(gens) > above:
            return max(gens)
        time.sleep(0.05)
    raise tycho.Failure("%s: no reload (worker generations %r, still <= %d)" % (what, gens, above))


def serves(srv, path, status_code, body=None, n=12):
    """n requests on new connections, so that both workers answer."""
    for _ in range(n):
        r = tycho.request(srv.public, "GET", path)
        check(r.status == status_code and (body is None or r.body.decode() == body),
              "GET %s: %d %r, want %d %r" % (path, r.status, r.body, status_code, body))


def dotted_folder(srv, routes, outside):
    gen = status(srv)["generation"]
    os.mkdir(os.path.join(routes, "api.v2"))
    write(os.path.join(routes, "api.v2", "x.lua"), route("/v2", "one"))
    gen = wait_generation(srv, gen, "a new folder api.v2")
    serves(srv, "/v2", 200, "one")

    write(os.path.join(routes, "api.v2", "x.lua"), route("/v2", "two"))
    gen = wait_generation(srv, gen, "an edit inside api.v2")
    serves(srv, "/v2", 200, "two")

    os.rename(os.path.join(routes, "api.v2"), os.path.join(outside, "api.v2"))
    gen = wait_generation(srv, gen, "api.v2 moved away")
    serves(srv, "/v2", 404)


def only_route_set(srv, routes):
    gen = status(srv)["generation"]
    for name in ("README", "Makefile", ".hidden.lua", "4913"):
        write(os.path.join(routes, name), "x\n")
    os.remove(os.path.join(routes, "4913"))  # vim's probe: created, then deleted at once
    os.mkdir(os.path.join(routes, ".git"))
    write(os.path.join(routes, ".git", "HEAD.lua"), "x\n")
    time.sleep(QUIET)
    write(os.path.join(routes, "README"), "y\n")
    write(os.path.join(routes, ".hidden.lua"), "y\n")
    os.remove(os.path.join(routes, "Makefile"))
    time.sleep(QUIET)
    check(status(srv)["generation"] == gen,
          "files outside the route set reloaded: generation %d -> %d"
          % (gen, status(srv)["generation"]))
    reloads = [r for r in srv.records() if r.get("msg") == "route files changed: reloading"]
    check(not reloads, "files outside the route set reloaded: %r" % reloads)

    write(os.path.join(routes, "b.lua"), route("/b", "b"))
    wait_generation(srv, gen, "a new b.lua")
    serves(srv, "/b", 200, "b")


def startup_race(routes):
    write(os.path.join(routes, "a.lua"), WRITES_Z)
    with tycho.Server(workers=2, routes=routes, env={"TYCHO_RELOAD": "on"}) as srv:
        wait_generation(srv, 1, "z.lua written while the workers started")
        gens = status(srv)["worker_generations"]
        check(len(set(gens)) == 1, "the workers serve different generations: %r" % gens)
        serves(srv, "/z", 200, "z", n=20)
        check(srv.stop() == 0, "clean exit")


def switch_link(link, target):
    """What `ln -sfn target link` does: a new link renamed over the old one."""
    os.symlink(target, link + ".new")
    os.rename(link + ".new", link)


def symlinks(tmp):
    rel1, rel2, shared = (os.path.join(tmp, n) for n in ("rel1", "rel2", "shared"))
    for d in (rel1, rel2, shared):
        os.mkdir(d)
    write(os.path.join(rel1, "a.lua"), route("/a", "rel1"))
    write(os.path.join(rel2, "a.lua"), route("/a", "rel2"))
    write(os.path.join(shared, "s.lua"), route("/s", "one"))
    os.symlink(os.path.join(shared, "s.lua"), os.path.join(rel2, "s.lua"))
    current = os.path.join(tmp, "current")
    os.symlink(rel1, current)
    with tycho.Server(workers=2, routes=current, env={"TYCHO_RELOAD": "on"}) as srv:
        serves(srv, "/a", 200, "rel1")
        gen = status(srv)["generation"]
        switch_link(current, rel2)
        gen = wait_generation(srv, gen, "the routes link switched to another release")
        serves(srv, "/a", 200, "rel2")
        serves(srv, "/s", 200, "one")

        write(os.path.join(rel1, "a.lua"), route("/a", "old"))
        time.sleep(QUIET)
        check(status(srv)["generation"] == gen, "an edit in the release no longer served reloaded")

        write(os.path.join(shared, "s.lua"), route("/s", "two"))
        gen = wait_generation(srv, gen, "the file a linked route file points at, edited")
        serves(srv, "/s", 200, "two")

        write(os.path.join(shared, ".s.lua.tmp"), route("/s", "three"))
        os.rename(os.path.join(shared, ".s.lua.tmp"), os.path.join(shared, "s.lua"))
        gen = wait_generation(srv, gen, "the file a linked route file points at, saved by rename")
        serves(srv, "/s", 200, "three")

        write(os.path.join(shared, "s.lua"), route("/s", "four"))
        wait_generation(srv, gen, "the linked file edited again after its rename")
        serves(srv, "/s", 200, "four")
        check(srv.stop() == 0, "clean exit")


def main():
    tmp = tempfile.mkdtemp(prefix="tycho-watch-")
    try:
        routes = os.path.join(tmp, "routes")
        os.mkdir(routes)
        startup_race(routes)
        print("an edit during start-up: reloaded, every worker serves it")

        shutil.rmtree(routes)
        os.mkdir(routes)
        write(os.path.join(routes, "a.lua"), route("/a", "a"))
        with tycho.Server(workers=2, routes=routes, env={"TYCHO_RELOAD": "on"}) as srv:
            only_route_set(srv, routes)
            print("README, Makefile, 4913, .hidden.lua, .git/: no reload; b.lua: reload")
            dotted_folder(srv, routes, tmp)
            print("api.v2: created, edited, moved away: each reloaded")
            check(srv.stop() == 0, "clean exit")

        symlinks(tmp)
        print("routes link switched, linked route file edited in place and by rename: reloaded")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    tycho.run_main(main)
