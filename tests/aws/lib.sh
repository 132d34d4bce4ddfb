# lib.sh — shared bits of the tests/aws script tests. Source after setting
# TYCHO_SRC/TYCHO_BUILD (ctest does). Provides:
#   aws_clean_env      unset every AWS_*/TYCHO_ECS_* variable, HOME -> a temp dir,
#                      IMDS disabled (no test may ever reach 169.254.169.254)
#   jget JSON PATH     a field from a JSON text ("a.b.0.c"), "" when absent
#   check NAME COND... run COND; count and print "ok"/"FAIL" lines
#   wait_until SECONDS CMD...  from tests/lib/wait.sh
#   fake_ctl PATH [JSON]  POST/GET the fake AWS server's /__control/PATH
#   finish             prints "N passed, N failed" and exits non-zero on failures
set -uo pipefail
: "${TYCHO_SRC:?}" "${TYCHO_BUILD:?}"
. "$TYCHO_SRC/tests/lib/peers.sh"
. "$TYCHO_SRC/tests/lib/wait.sh"

AWS_TOOLS="$TYCHO_BUILD/tools"
_passed=0
_failed=0
TEST_TMP=$(mktemp -d /tmp/tycho-aws-test.XXXXXX)

aws_clean_env() {
    local v
    for v in $(compgen -e | grep -E '^(AWS_|TYCHO_ECS_)'); do
        unset "$v"
    done
    export HOME="$TEST_TMP/home"
    mkdir -p "$HOME"
    export AWS_EC2_METADATA_DISABLED=true
}

jget() {
    /usr/bin/python3 -c 'import json, sys
v = json.loads(sys.argv[1])
for k in sys.argv[2].split(".") if sys.argv[2] else []:
    v = v[int(k)] if isinstance(v, list) else (v or {}).get(k)
print("" if v is None else (json.dumps(v) if isinstance(v, (dict, list)) else v))' "$1" "$2"
}

check() {
    local name=$1
    shift
    if "$@"; then
        echo "ok   - $name"
        _passed=$((_passed + 1))
    else
        echo "FAIL - $name"
        _failed=$((_failed + 1))
    fi
}

fake_ctl() {
    if [ $# -gt 1 ]; then
        curl -sS -X POST "$FAKE_AWS_URL/__control/$1" -d "$2"
    else
        curl -sS "$FAKE_AWS_URL/__control/$1"
    fi
}

finish() {
    echo "$_passed passed, $_failed failed"
    rm -rf "$TEST_TMP"
    [ "$_failed" -eq 0 ]
}
