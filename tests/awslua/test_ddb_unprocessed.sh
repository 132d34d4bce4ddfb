#!/usr/bin/env bash
# t:batch_write and t:batch_get send again what DynamoDB leaves unprocessed
# (capped exponential backoff with jitter, up to `retries` times), then raise
# UnprocessedItems / UnprocessedKeys with what stayed: dynalite behind
# tests/aws/tamper_proxy.py, which answers the last entries of a batch
# request as unprocessed (tests/awslua/ddb_unprocessed_spec.lua). Batches
# without unprocessed entries are in spec/dynamodb_spec.lua, which
# test_specs_parity.sh runs on the local backend and on dynalite.
. "$(dirname "$0")/lib.sh"
tycho_start_dynalite || exit 1
tycho_start_tamper_proxy "$DYNALITE_URL" || exit 1
aws_clean_env
export AWS_ACCESS_KEY_ID=AKIDEXAMPLE AWS_SECRET_ACCESS_KEY=fake AWS_REGION=us-east-1 TAMPER_URL
out=$(TYCHO_AWS_BACKEND=aws AWS_ENDPOINT_URL_DYNAMODB="$TAMPER_URL" timeout 120 \
    "$TYCHO_BIN" spec "$TYCHO_SRC/tests/awslua/ddb_unprocessed_spec.lua" 2>&1)
rc=$?
echo "$out" | tail -n 40
check "every spec passes" [ "$rc" = 0 ]
check "they ran" grep -qE '^4 passed, 0 failed$' <<<"$out"
finish
