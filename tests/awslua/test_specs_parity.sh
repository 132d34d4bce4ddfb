#!/usr/bin/env bash
# tycho.sqs and tycho.dynamodb specs (spec/sqs_spec.lua, spec/dynamodb_spec.lua)
# run twice with the same expectations: against the embedded local backend,
# and over HTTP against real peers (local-aws-sqs, dynalite). Both runs must
# pass every test, and the same tests. Then awscli (/usr/bin/aws) reads back
# an item tycho wrote to dynalite.
. "$(dirname "$0")/../aws/lib.sh"
tycho_start_dynalite || exit 1
tycho_start_local_sqs || exit 1
aws_clean_env
cd "$TEST_TMP" || exit 1
SPECS=("$TYCHO_SRC/spec/sqs_spec.lua" "$TYCHO_SRC/spec/dynamodb_spec.lua")

# list of "ok"/"not ok" lines (TAP) without numbers, and the summary line
tap() { grep -E '^(not )?ok ' <<<"$1" | sed -E 's/^(not )?ok [0-9]+ /\1ok /' | sort; }

local_out=$(TYCHO_AWS_BACKEND=local TYCHO_DATA_DIR="$TEST_TMP/data" TYCHO_LOCAL_AUTO_CREATE=off \
    timeout 120 "$TYCHO_BIN" spec -o TAP "${SPECS[@]}" 2>&1)
local_rc=$?
echo "$local_out" | tail -n 3
export AWS_ACCESS_KEY_ID=AKIDEXAMPLE AWS_SECRET_ACCESS_KEY=fake-secret AWS_REGION=us-east-1
aws_out=$(TYCHO_AWS_BACKEND=aws AWS_ENDPOINT_URL_SQS="$LOCAL_SQS_URL" AWS_ENDPOINT_URL_DYNAMODB="$DYNALITE_URL" \
    timeout 120 "$TYCHO_BIN" spec -o TAP "${SPECS[@]}" 2>&1)
aws_rc=$?
echo "$aws_out" | tail -n 3

check "local backend: every spec passes" [ "$local_rc" = 0 ]
check "HTTP peers: every spec passes" [ "$aws_rc" = 0 ]
check "local backend ran the specs" grep -qE '^[1-9][0-9]* passed, 0 failed$' <<<"$local_out"
check "same tests, same results on both backends" [ "$(tap "$local_out")" = "$(tap "$aws_out")" ]
if [ "$(tap "$local_out")" != "$(tap "$aws_out")" ]; then
    diff <(tap "$local_out") <(tap "$aws_out")
    echo "--- local"; echo "$local_out" | tail -n 30
    echo "--- aws"; echo "$aws_out" | tail -n 30
fi

# awscli reads back what tycho wrote to dynalite
export READBACK_TABLE=readback-$$
rb=$(TYCHO_AWS_BACKEND=aws AWS_ENDPOINT_URL_DYNAMODB="$DYNALITE_URL" timeout 60 \
    "$TYCHO_BIN" spec "$TYCHO_SRC/tests/awslua/readback_spec.lua" 2>&1)
check "tycho wrote the readback item" grep -q '^1 passed, 0 failed$' <<<"$rb" || echo "$rb"
item=$(AWS_PAGER="" /usr/bin/aws dynamodb get-item --endpoint-url "$DYNALITE_URL" --region us-east-1 \
    --table-name "$READBACK_TABLE" --key '{"pk":{"S":"readback"}}' --output json 2>&1)
check "awscli reads every attribute as tycho wrote it" /usr/bin/python3 -c '
import json, sys
item = json.loads(sys.argv[1])["Item"]
want = {"pk": {"S": "readback"}, "s": {"S": "h\u00e9llo"}, "n": {"N": "42"},
        "d": {"N": "12345678901234567890.5"}, "b": {"BOOL": True}, "null": {"NULL": True},
        "l": {"L": [{"N": "1"}, {"S": "x"}]}, "m": {"M": {"k": {"S": "v"}}},
        "bin": {"B": "AAE="}, "ss": {"SS": ["a"]}}
assert item == want, (item, want)' "$item" || echo "$item"
finish
