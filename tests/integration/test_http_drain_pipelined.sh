#!/usr/bin/env bash
# SIGTERM with pipelined requests already read: each is answered, the last
# with Connection: close; a partial one is not; a reset still cancels; the
# drain timeout still cuts.
set -euo pipefail
exec /usr/bin/python3 "$(dirname "$0")/http_drain_pipelined.py"
