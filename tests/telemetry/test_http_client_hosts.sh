#!/usr/bin/env bash
# The host label of tycho_http_client_request_duration_seconds is bounded
# per worker (TYCHO_HTTP_CLIENT_MAX_HOSTS). See http_client_hosts.py.
set -euo pipefail
exec /usr/bin/python3 "$(dirname "$0")/http_client_hosts.py"
