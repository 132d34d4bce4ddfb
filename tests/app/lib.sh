# lib.sh — shared bits of the tests/app script tests.
#   app_python FILE   runs FILE (a python test of the reference app, on
#                     tests/lib/tycho.py) without the caller's AWS_*, SQS_*,
#                     DYNAMODB_*, OTEL_* and SIMULATED_* settings; exits
#                     with its status
# shellcheck source=tests/aws/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/../aws/lib.sh"

app_python() {
    local v rc
    aws_clean_env
    for v in $(compgen -e | grep -E '^(SQS_|DYNAMODB_|OTEL_|SIMULATED_)'); do
        unset "$v"
    done
    /usr/bin/python3 "$1"
    rc=$?
    rm -rf "$TEST_TMP"
    exit "$rc"
}
