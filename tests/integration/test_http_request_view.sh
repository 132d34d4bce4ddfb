#!/usr/bin/env bash
# What a route sees of a request (client address behind a proxy), over raw
# sockets against the real binary.
set -euo pipefail
exec /usr/bin/python3 "$(dirname "$0")/http_request_view.py"
