#!/usr/bin/env bash
# Differential SigV4 test: 400 generated requests signed by botocore (Debian
# python3-botocore, /usr/bin/python3) and by tycho (tools/aws_sign); any
# difference fails and is printed with both canonical requests.
set -euo pipefail
: "${TYCHO_SRC:?}" "${TYCHO_BUILD:?}"
PY=/usr/bin/python3
if ! "$PY" -c 'import botocore' 2>/dev/null; then
    echo "FAIL: /usr/bin/python3 cannot import botocore (install python3-botocore; scripts/setup does)"
    exit 1
fi
exec "$PY" "$TYCHO_SRC/tests/aws/sigv4_botocore.py" "$TYCHO_BUILD/tools/aws_sign" 400 20240501
