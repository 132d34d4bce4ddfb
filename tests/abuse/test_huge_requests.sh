#!/usr/bin/env bash
# Huge headers, URIs and bodies against the real binary: 431/414/413 and the
# connection closed, and RSS back near its baseline afterwards
# (tests/abuse/huge_requests.py; HUGE_ROUNDS).
set -euo pipefail
. "$(dirname "$0")/lib.sh"
abuse_run huge_requests.py
