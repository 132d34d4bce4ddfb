#!/usr/bin/env bash
# The reference app's /health answers 503 {"status":"draining"} once a
# SIGTERM has started the drain (see health_drain.py).
# shellcheck source=tests/aws/lib.sh
. "$(dirname "$0")/../aws/lib.sh"
aws_clean_env
for v in $(compgen -e | grep -E '^(SQS_|DYNAMODB_|OTEL_|SIMULATED_)'); do
    unset "$v"
done
/usr/bin/python3 "$(dirname "$0")/health_drain.py"
rc=$?
rm -rf "$TEST_TMP"
exit "$rc"
