#!/usr/bin/env bash
# Route files caught mid-save (truncated, then written in two steps; with a
# BOM and CRLF lines) never replace good ones while requests keep coming.
# See edit_midsave.py.
set -euo pipefail
exec /usr/bin/python3 "$(dirname "$0")/edit_midsave.py"
