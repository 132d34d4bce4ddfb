#!/usr/bin/env bash
# Graceful shutdown under load, drain timeout, second signal, max-connections
# back-pressure and the admin listener, against the real binary.
set -euo pipefail
exec /usr/bin/python3 "$(dirname "$0")/http_lifecycle.py"
