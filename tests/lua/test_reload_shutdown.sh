#!/usr/bin/env bash
# A reload asked for once the shutdown began (POST /-/reload, SIGHUP), or one
# still loading when SIGTERM comes, is refused: the POSTs get 503 at once,
# not a hang until the exit. See reload_shutdown.py.
set -euo pipefail
exec /usr/bin/python3 "$(dirname "$0")/reload_shutdown.py"
