#!/usr/bin/env bash
# Requests cut before their answer: tycho_http_requests_cut_total (see
# requests_cut.py).
set -euo pipefail
exec /usr/bin/python3 "$(dirname "$0")/requests_cut.py"
