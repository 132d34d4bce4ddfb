#!/usr/bin/env bash
# One DynamoDB TTL sweep of the embedded local AWS backend over a big table:
# ITEMS items (default 200000), EXPIRED_PCT % expired (default 1), as a TTL
# table of the reference app is at its steady state (bench/results/soak_app.md).
# Per build: the CPU the local backend's thread spends on the sweep, and the
# longest a GetItem made meanwhile waited (bench/lib/local_ttl.py says how).
# A script, not a timed test.
#   bench/local_ttl.sh [BUILD_DIR ...]   (default build/; each holds tycho and tools/local_exec)
#   env: ITEMS=200000 EXPIRED_PCT=1 RUNS=3 PROBE_SECONDS=8
# Results: bench/results/local_ttl.md.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
for b in "${@:-$ROOT/build}"; do
    [ -x "$b/tycho" ] && [ -x "$b/tools/local_exec" ] ||
        { echo "$b: no tycho or tools/local_exec (build first)" >&2; exit 2; }
done
exec /usr/bin/python3 "$ROOT/bench/lib/local_ttl.py" "$@"
