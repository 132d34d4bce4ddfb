#!/usr/bin/env bash
# A reload's metric definitions take effect on /metrics once every worker
# switched, or not at all. See reload_metrics_atomic.py.
set -euo pipefail
exec /usr/bin/python3 "$(dirname "$0")/reload_metrics_atomic.py"
