#!/usr/bin/env bash
# 10k concurrent idle keep-alive connections against the real binary: /health
# keeps answering, idle connections still serve, RSS per 10k is reported and
# bounded, everything is released on close (tests/abuse/idle_10k.py; IDLE_CONNS).
set -euo pipefail
. "$(dirname "$0")/lib.sh"
abuse_run idle_10k.py
