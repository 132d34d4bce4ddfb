#!/usr/bin/env bash
# A reload SIGTERM overtakes while its workers load is rolled back: refused
# with 503, /metrics as before it, the drain runs, exit 0. See
# reload_shutdown_rollback.py.
set -euo pipefail
exec /usr/bin/python3 "$(dirname "$0")/reload_shutdown_rollback.py"
