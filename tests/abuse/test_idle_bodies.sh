#!/usr/bin/env bash
# Idle keep-alive connections do not keep the memory of their last request's
# body (tests/abuse/idle_bodies.py).
set -euo pipefail
. "$(dirname "$0")/lib.sh"
abuse_run idle_bodies.py
