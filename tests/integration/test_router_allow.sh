#!/usr/bin/env bash
# The Allow header of OPTIONS * and of a 405 when routes declare every
# method, over raw sockets against the real binary.
set -euo pipefail
exec /usr/bin/python3 "$(dirname "$0")/router_allow.py"
