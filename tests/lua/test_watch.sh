#!/usr/bin/env bash
# Hot reload (docs/routes.md): an edit made while the workers start is not
# lost. See watch.py.
set -euo pipefail
exec /usr/bin/python3 "$(dirname "$0")/watch.py"
