#!/usr/bin/env bash
# A handler recursing through functions written in C (string.gsub, print,
# coroutines, tycho.all...) fails with a Lua error instead of killing the
# server with SIGSEGV. See cstack_recursion.py.
set -euo pipefail
exec /usr/bin/python3 "$(dirname "$0")/cstack_recursion.py"
