#!/usr/bin/env bash
# A route file whose load never ends fails the reload at TYCHO_LOAD_TIMEOUT,
# and a SIGTERM meanwhile still drains and exits. See reload_deadline.py.
set -euo pipefail
exec /usr/bin/python3 "$(dirname "$0")/reload_deadline.py"
