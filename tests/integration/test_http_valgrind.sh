#!/usr/bin/env bash
# valgrind memcheck of start -> requests -> SIGTERM (skipped in sanitizer builds).
set -euo pipefail
exec /usr/bin/python3 "$(dirname "$0")/http_valgrind.py"
