#!/usr/bin/env bash
# See lifecycle.py, closed_stdio.
set -euo pipefail
exec /usr/bin/python3 "$(dirname "$0")/lifecycle.py" closed_stdio
