"""The Allow header over raw sockets against the real binary: with a route
for every method the parser serves, OPTIONS * lists each of them whole, in
declaration order, HEAD after GET and OPTIONS last (it was cut at 255 bytes,
mid-name, without OPTIONS); a 405 lists a declared OPTIONS last too. Run by
test_router_allow.sh with /usr/bin/python3."""
import os
import shutil
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import tycho  # noqa: E402
from tycho import check  # noqa: E402

# llhttp's methods but CONNECT (docs/routes.md, "Route files"), GET first
METHODS = ("GET HEAD DELETE POST PUT OPTIONS TRACE COPY LOCK MKCOL MOVE PROPFIND PROPPATCH "
           "SEARCH UNLOCK BIND REBIND UNBIND ACL REPORT MKACTIVITY CHECKOUT MERGE M-SEARCH "
           "NOTIFY SUBSCRIBE UNSUBSCRIBE PATCH PURGE MKCALENDAR LINK UNLINK SOURCE").split()

ROUTES = """
local routes = {}
for m in (%r):gmatch("%%S+") do
  if m ~= "PATCH" then routes[#routes + 1] = { m, "/all", function() return "ok" end } end
end
routes[#routes + 1] = { "PATCH", "/other", function() return "ok" end }
return routes
""" % " ".join(METHODS)


def allow(srv, method, path):
    r = tycho.request(srv.public, method=method, path=path)
    return r.status, r.header("Allow")


def main():
    routes = tempfile.mkdtemp(prefix="tycho-router-allow-")
    try:
        with open(os.path.join(routes, "all.lua"), "w") as f:
            f.write(ROUTES)
        with tycho.Server(routes=routes) as srv:
            every = [m for m in METHODS if m not in ("OPTIONS", "PATCH")] + ["PATCH", "OPTIONS"]
            status, got = allow(srv, "OPTIONS", "*")
            check(status == 204, "OPTIONS * answered %d" % status)
            check(got == ", ".join(every), "OPTIONS *: Allow: %s" % got)
            status, got = allow(srv, "PATCH", "/all")
            check(status == 405, "PATCH /all answered %d" % status)
            check(got == ", ".join(m for m in every if m != "PATCH"), "405: Allow: %s" % got)
    finally:
        shutil.rmtree(routes, ignore_errors=True)


tycho.run_main(main)
