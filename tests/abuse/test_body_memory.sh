#!/usr/bin/env bash
# The request bodies a worker holds at once are capped by TYCHO_MAX_BODY_MEMORY
# (tests/abuse/body_memory.py).
set -euo pipefail
. "$(dirname "$0")/lib.sh"
abuse_run body_memory.py
