#!/usr/bin/env bash
# The reference app's specs (spec/<route file>_spec.lua for each routes/*.lua)
# run twice with the same expectations: on the embedded local backend, and
# over HTTP against real peers (local-aws-sqs, dynalite) with
# TYCHO_AWS_BACKEND=aws — what the routes meet on AWS. Both runs must pass
# every test, and the same tests.
# shellcheck source=tests/aws/lib.sh
. "$(dirname "$0")/../aws/lib.sh"
tycho_start_dynalite || exit 1
tycho_start_local_sqs || exit 1
aws_clean_env
cd "$TEST_TMP" || exit 1
SPECS=()
for f in "$TYCHO_SRC"/routes/*.lua; do
    SPECS+=("$TYCHO_SRC/spec/$(basename "$f" .lua)_spec.lua")
done
ROUTES=(--routes "$TYCHO_SRC/routes")

# list of "ok"/"not ok" lines (TAP) without numbers
tap() { grep -E '^(not )?ok ' <<<"$1" | sed -E 's/^(not )?ok [0-9]+ /\1ok /' | sort; }

for s in "${SPECS[@]}"; do
    check "a spec for routes/$(basename "$s" _spec.lua).lua" [ -f "$s" ]
done

local_out=$(TYCHO_AWS_BACKEND=local TYCHO_DATA_DIR="$TEST_TMP/data" \
    timeout 300 "$TYCHO_BIN" spec "${ROUTES[@]}" -o TAP "${SPECS[@]}" 2>&1)
local_rc=$?
echo "$local_out" | tail -n 3
export AWS_ACCESS_KEY_ID=AKIDEXAMPLE AWS_SECRET_ACCESS_KEY=fake-secret AWS_REGION=us-east-1
aws_out=$(TYCHO_AWS_BACKEND=aws AWS_ENDPOINT_URL_SQS="$LOCAL_SQS_URL" AWS_ENDPOINT_URL_DYNAMODB="$DYNALITE_URL" \
    DYNAMODB_APP_TABLE="app-spec-table" timeout 300 "$TYCHO_BIN" spec "${ROUTES[@]}" -o TAP "${SPECS[@]}" 2>&1)
aws_rc=$?
echo "$aws_out" | tail -n 3

check "local backend: every spec passes" [ "$local_rc" = 0 ]
check "HTTP peers: every spec passes" [ "$aws_rc" = 0 ]
check "local backend ran the specs" grep -qE '^[1-9][0-9]* passed, 0 failed$' <<<"$local_out"
check "same tests, same results on both backends" [ "$(tap "$local_out")" = "$(tap "$aws_out")" ]
if [ "$local_rc" != 0 ] || [ "$aws_rc" != 0 ] || [ "$(tap "$local_out")" != "$(tap "$aws_out")" ]; then
    diff <(tap "$local_out") <(tap "$aws_out")
    # each failing test with busted's message and traceback
    for out in "$local_out" "$aws_out"; do grep -vE '^\{"time"' <<<"$out" | grep -A 14 -E '^not ok '; done
    echo "--- local"; grep -vE '^\{"time"' <<<"$local_out" | tail -n 40
    echo "--- aws"; grep -vE '^\{"time"' <<<"$aws_out" | tail -n 40
fi
finish
