#!/usr/bin/env bash
# Slow and stalled readers: keep-alive and send timeouts, honest access lines
# for cut responses, a 408's duration.
set -euo pipefail
exec /usr/bin/python3 "$(dirname "$0")/http_slow_readers.py"
