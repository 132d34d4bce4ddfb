#!/usr/bin/env bash
# Slowloris against the real binary: 500 connections trickling a request head
# one byte a second are closed at the header timeout while /health stays fast
# (tests/abuse/slowloris.py; SLOWLORIS_CONNS, SLOWLORIS_SECONDS).
set -euo pipefail
. "$(dirname "$0")/lib.sh"
abuse_run slowloris.py
