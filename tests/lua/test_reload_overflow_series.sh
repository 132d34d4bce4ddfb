#!/usr/bin/env bash
# tycho_metrics_overflow_total's series of a metric leaves /metrics when a
# reload drops or redefines the metric. See reload_overflow_series.py.
set -euo pipefail
exec /usr/bin/python3 "$(dirname "$0")/reload_overflow_series.py"
