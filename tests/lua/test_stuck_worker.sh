#!/usr/bin/env bash
# A handler the watchdog cannot interrupt (a loop compiled by the JIT) is
# reported once, naming its worker. See stuck_worker.py.
set -euo pipefail
exec /usr/bin/python3 "$(dirname "$0")/stuck_worker.py"
