#!/usr/bin/env bash
# tycho.metrics / tycho.trace against a real `tycho serve`: one request -> one
# SERVER span line, one access line, metric +1, same trace id; promtool on
# /metrics; requests stay fast while stdout is a pipe nobody reads.
set -euo pipefail
exec /usr/bin/python3 "$(dirname "$0")/telemetry_e2e.py"
