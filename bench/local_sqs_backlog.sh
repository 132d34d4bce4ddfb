#!/usr/bin/env bash
# An SQS queue with a backlog in the embedded local AWS backend: how long a
# ReceiveMessage and a GetQueueAttributes take at MESSAGES messages, and the
# longest step of a housekeeping sweep deleting the expired ones, per build
# (bench/lib/local_sqs_backlog.py says how). A script, not a timed test.
#   bench/local_sqs_backlog.sh [BUILD_DIR ...]   (default build/; each holds tools/local_exec)
#   env: MESSAGES=100000 RECEIVES=20 EXPIRED_PCT=10 RUNS=3
# Results: bench/results/local_sqs_backlog.md.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
for b in "${@:-$ROOT/build}"; do
    [ -x "$b/tools/local_exec" ] || { echo "$b: no tools/local_exec (build first)" >&2; exit 2; }
done
exec /usr/bin/python3 "$ROOT/bench/lib/local_sqs_backlog.py" "${@:-$ROOT/build}"
