#!/usr/bin/env bash
# The reload gauges: last reload successful (1/0) and the time of the last
# success, at start-up, after a failed reload and after the fix. See
# reload_metrics.py.
set -euo pipefail
exec /usr/bin/python3 "$(dirname "$0")/reload_metrics.py"
