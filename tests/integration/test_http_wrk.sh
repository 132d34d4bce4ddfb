#!/usr/bin/env bash
# Short wrk concurrency check against the real binary (not a benchmark).
set -euo pipefail
WRK_SECONDS=${WRK_SECONDS:-4} exec /usr/bin/python3 "$(dirname "$0")/http_wrk.py"
