#!/usr/bin/env bash
# See lifecycle.py, repeated_signal.
set -euo pipefail
exec /usr/bin/python3 "$(dirname "$0")/lifecycle.py" repeated_signal
