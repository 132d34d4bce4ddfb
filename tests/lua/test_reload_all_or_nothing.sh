#!/usr/bin/env bash
# A reload that fails on one worker only leaves every worker on the previous
# generation, and the status in step. See reload_all_or_nothing.py.
set -euo pipefail
exec /usr/bin/python3 "$(dirname "$0")/reload_all_or_nothing.py"
