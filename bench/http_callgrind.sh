#!/usr/bin/env bash
# Instructions per request of the HTTP engine path under callgrind (repeatable
# on a noisy machine): tycho serve --workers 1 with bench/routes, N and then M
# keep-alive GET /json requests in two runs; (total(M) - total(N)) / (M - N)
# cancels start-up and shutdown. Prints the figure for sequential requests and
# for requests pipelined by 10, and the top functions of the M run.
#   N=1000 M=6000 TYCHO_BIN=build/tycho bench/http_callgrind.sh
set -euo pipefail
cd "$(dirname "$0")/.."
N=${N:-1000}
M=${M:-6000}
BIN=$(realpath "${TYCHO_BIN:-build/tycho}")
command -v valgrind >/dev/null || { echo "valgrind is not installed"; exit 1; }
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

drive() { # count depth outfile
  TYCHO_BIN=$BIN /usr/bin/python3 - "$1" "$2" "$3" <<'EOF'
import os, sys
sys.path.insert(0, os.path.join(os.getcwd(), "tests", "lib"))
import tycho
n, depth, outfile = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
srv = tycho.Server(env={"TYCHO_ACCESS_LOG": "off"}, workers=1, start_timeout=60, routes="bench/routes",
                   wrapper=["valgrind", "--tool=callgrind", "--callgrind-out-file=" + outfile])
try:
    c = tycho.Conn(srv.public, timeout=30)
    done = 0
    while done < n:
        k = min(depth, n - done)
        c.send(b"GET /json HTTP/1.1\r\nHost: t\r\n\r\n" * k)
        for _ in range(k):
            r = c.read_response(timeout=30)
            assert r is not None and r.status == 200, r
        done += k
    c.close()
    assert srv.stop(60) == 0
finally:
    srv.kill()
EOF
}
total() { callgrind_annotate "$1" 2>/dev/null | awk '/PROGRAM TOTALS/ && !n {gsub(",", "", $1); print $1; n = 1}'; }

for depth in 1 10; do
  drive "$N" "$depth" "$out/cg.$depth.n"
  drive "$M" "$depth" "$out/cg.$depth.m"
  a=$(total "$out/cg.$depth.n")
  b=$(total "$out/cg.$depth.m")
  echo "pipelining depth $depth: $(((b - a) / (M - N))) instructions per request"
done
echo
echo "top functions (self), depth 1, $M requests:"
callgrind_annotate "$out/cg.1.m" 2>/dev/null | sed -n '/file:function/,$p' | sed -n '3,22p' | cut -c1-150 || true
