#!/usr/bin/env bash
# See lifecycle.py, stdout_full_exporting.
set -euo pipefail
exec /usr/bin/python3 "$(dirname "$0")/lifecycle.py" stdout_full_exporting
