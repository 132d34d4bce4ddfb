#!/usr/bin/env bash
# Hot reload follows the route set (docs/routes.md, Hot reload): folders of
# any name, only *.lua files and folders, no hidden ones; an edit made while
# the workers start is not lost. See watch.py.
set -euo pipefail
exec /usr/bin/python3 "$(dirname "$0")/watch.py"
