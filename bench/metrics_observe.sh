#!/usr/bin/env bash
# A histogram observation's cost on its owner thread (server/telemetry/
# metrics.c), without a server: bench/metrics_observe/observe.c observes N
# times through a resolved handle and N times through the keyed call, alone
# and with a second thread scraping the registry in a loop. Prints ns an
# observation, RUNS times each (the machine is shared: read the spread).
# A script, not a test.
#   N=20000000 RUNS=5 bench/metrics_observe.sh
set -euo pipefail
cd "$(dirname "$0")/.."
N=${N:-20000000}
RUNS=${RUNS:-5}
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
cc -O2 -g -std=gnu11 -Wall -Wextra -Werror -pthread -Iserver -o "$out/observe" \
  bench/metrics_observe/observe.c server/telemetry/metrics.c server/core/log.c server/core/buf.c \
  server/core/utf8.c -lm
for i in $(seq "$RUNS"); do
  echo "alone:     $(taskset -c 0 "$out/observe" "$N")"
  echo "scraped:   $("$out/observe" "$N" scrape)"
done
# Instructions: two runs of different N under callgrind; their difference
# over the extra observations (start-up cancels out), one handle and one
# keyed observation a pair.
if command -v valgrind >/dev/null; then
  ir() { valgrind --tool=callgrind --callgrind-out-file=/dev/null "$out/observe" "$1" 2>&1 |
    sed -n 's/.*refs: *//p' | tr -d ,; }
  a=$(ir 100000) b=$(ir 200000)
  echo "callgrind: $(((b - a) / 100000)) Ir a pair (one handle + one keyed observation)"
fi
