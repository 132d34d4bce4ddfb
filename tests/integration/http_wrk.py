"""A short concurrency check with wrk (50 connections, 5 s): zero socket
errors, every response the expected status, the server still healthy and
exiting cleanly afterwards. Not a benchmark (see bench/)."""
import os
import re
import shutil
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import tycho  # noqa: E402
from tycho import check  # noqa: E402

SECONDS = os.environ.get("WRK_SECONDS", "5")


def wrk(url, extra=()):
    out = subprocess.run(["wrk", "-t2", "-c50", "-d%ss" % SECONDS, "--timeout", "5s", "--latency"] + list(extra) + [url],
                         capture_output=True, text=True, timeout=int(SECONDS) + 30)
    check(out.returncode == 0, "wrk failed: %s %s" % (out.stdout, out.stderr))
    return out.stdout


def summary(out):
    reqs = int(re.search(r"(\d+) requests in", out).group(1))
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    errors = re.search(r"Socket errors:.*", out)
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return reqs, rps, errors.group(0) if errors else None, int(non2xx.group(1)) if non2xx else 0


def main():
    check(shutil.which("wrk"), "wrk is not installed (Debian package wrk; scripts/setup installs it)")
    with tycho.Server(env={"TYCHO_ACCESS_LOG": "off"}, workers=2) as srv:
        url = "http://%s:%d" % srv.public
        out = wrk(url + "/json")
        reqs, rps, errors, non2xx = summary(out)
        print("wrk /json: %d requests, %.0f req/s, errors=%s, non-2xx=%d" % (reqs, rps, errors, non2xx))
        check(errors is None, "socket errors under load: %s" % errors)
        check(non2xx == 0, "%d responses were not 200" % non2xx)
        check(reqs > 1000, "only %d requests in %ss" % (reqs, SECONDS))
        # the router's miss path: all 404, no socket errors
        out = wrk(url + "/missing")
        reqs, rps, errors, non2xx = summary(out)
        print("wrk /missing: %d requests, %.0f req/s, errors=%s, non-2xx=%d" % (reqs, rps, errors, non2xx))
        check(errors is None and non2xx == reqs, "every /missing answered 404 without socket errors")
        r = tycho.request(srv.admin, path="/-/status")
        check(r.status == 200, "admin after the load")
        rc = srv.stop()
        check(rc == 0, "exit code %s" % rc)


if __name__ == "__main__":
    tycho.run_main(main)
