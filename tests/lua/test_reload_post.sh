#!/usr/bin/env bash
# POST /-/reload answers with a reload that read the files after it came,
# not with one already running. See reload_post.py.
set -euo pipefail
exec /usr/bin/python3 "$(dirname "$0")/reload_post.py"
