#!/usr/bin/env bash
# See lifecycle.py, stdout_full.
set -euo pipefail
exec /usr/bin/python3 "$(dirname "$0")/lifecycle.py" stdout_full
