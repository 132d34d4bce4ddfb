#!/usr/bin/env bash
# The reference app's /health?deep=1 answers 503 with every check within
# seconds when SQS hangs and DynamoDB refuses (see health_deep_hang.py).
. "$(dirname "$0")/lib.sh"
app_python "$(dirname "$0")/health_deep_hang.py"
