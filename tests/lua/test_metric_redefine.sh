#!/usr/bin/env bash
# A reload that changes a Lua metric's labels: it takes effect (new series,
# old ones gone, promtool happy); a reload defining the metric twice fails
# and keeps the previous routes and series.
set -euo pipefail
exec /usr/bin/python3 "$(dirname "$0")/metric_redefine.py"
