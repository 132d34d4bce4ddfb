#!/usr/bin/env bash
# A flood of connections past the server's descriptor limit (ulimit -n 256):
# accept backs off without spinning, logs it, and /health recovers once the
# flood stops (tests/abuse/fd_flood.py; FLOOD_CONNS, FLOOD_HOLD_SECONDS).
set -euo pipefail
. "$(dirname "$0")/lib.sh"
abuse_run fd_flood.py
