#!/usr/bin/env bash
# Route files as editors and deploy tools save them (truncated, then written in
# two steps; BOM and CRLF; vim and emacs files; a ConfigMap update) while
# requests keep coming: a half file never replaces a good one.
# See edit_midsave.py.
set -euo pipefail
exec /usr/bin/python3 "$(dirname "$0")/edit_midsave.py"
