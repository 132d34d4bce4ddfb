#!/usr/bin/env bash
# Raw-socket RFC 9110/9112 conformance table against the real binary.
set -euo pipefail
exec /usr/bin/python3 "$(dirname "$0")/http_conformance.py"
