#!/usr/bin/env bash
# An SQS consumer deletes what its handlers handled with DeleteMessageBatch.
# When that call fails (here: the queue deleted while a handler ran, so SQS
# answers QueueDoesNotExist; in production a role without sqs:DeleteMessage,
# or throttling), the batch is tried again after a pause (1 s doubling, at
# most 5 s), not at once, and the warning is rate-limited (core/ratelog):
# one line for the three tries, saying the message comes back after its
# visibility timeout. The message given up is counted in
# tycho_sqs_consumer_not_deleted_total. Against local-aws-sqs.
. "$(dirname "$0")/lib.sh"
tycho_start_local_sqs || exit 1
aws_clean_env
use_local_sqs
QURL="$LOCAL_SQS_URL/123456789012/del-fail"
sqs_peer CreateQueue '{"QueueName":"del-fail"}' >/dev/null

mkdir -p "$TEST_TMP/routes"
cat >"$TEST_TMP/routes/app.lua" <<'LUA'
local time = require "tycho.time"
return {
  { "GET", "/health", function() return 200, { ok = true } end },
  consumers = { {
    queue = "del-fail", wait = 1, batch = 1,
    handler = function() time.sleep(2) end,
  } },
}
LUA
ROUTES="$TEST_TMP/routes" serve_start del --workers 1 || exit 1
check "the not-deleted counter starts at 0" \
    [ "$(metric 'tycho_sqs_consumer_not_deleted_total{queue="del-fail"}')" = 0 ]
sqs_peer SendMessage "{\"QueueUrl\":\"$QURL\",\"MessageBody\":\"work\"}" >/dev/null
received() { [ "$(metric 'tycho_sqs_consumer_received_total{queue="del-fail"}')" = 1 ]; }
check "the handler got the message" wait_until 15 received
sqs_peer DeleteQueue "{\"QueueUrl\":\"$QURL\"}" >/dev/null

delete_calls() {
    local v
    v=$(curl -sS "http://127.0.0.1:$ADMIN/metrics" | grep '^aws_requests_total{' |
        grep 'operation="DeleteMessageBatch"' | awk '{s += $NF} END {print s + 0}')
    echo "${v:-0}"
}
calls_ge() { [ "$(delete_calls)" -ge "$1" ]; }
check "the handler ended and its delete was tried" wait_until 15 calls_ge 1
t0=$(date +%s.%N)
sleep 0.3
# The pauses are 0.5-1 s, then 1-2 s: the third try comes at least 1.5 s
# after the first. Retries without a pause would all be done by now; a
# second try may already be (the first is seen late on a loaded host).
check "the retries wait ($(delete_calls) tries 0.3 s after the first was seen)" [ "$(delete_calls)" -lt 3 ]
given_up() { [ "$(metric 'tycho_sqs_consumer_not_deleted_total{queue="del-fail"}')" = 1 ]; }
check "after its third try the message is counted as not deleted" wait_until 20 given_up
t1=$(date +%s.%N)
check "three tries in all ($(delete_calls))" [ "$(delete_calls)" = 3 ]
check "the tries were spread out (at least 1 s from the first to the last)" \
    /usr/bin/python3 -c 'import sys; sys.exit(float(sys.argv[2]) - float(sys.argv[1]) < 1.0)' "$t0" "$t1"
lines() { grep -cE '"sqs consumer: (DeleteMessageBatch failed|handled messages could not be deleted)' "$LOG"; }
check "one warning for three failed tries ($(lines))" [ "$(lines)" = 1 ]
check "the warning names SQS's error, the retry and the visibility timeout" /usr/bin/python3 -c '
import json, sys
l = [json.loads(x) for x in open(sys.argv[1]) if "could not be deleted" in x][0]
assert "QueueDoesNotExist" in l["error"] or "does not exist" in l["error"], l
assert l["retrying"] == 1 and l["retry_in_ms"] >= 500, l
assert "visibility timeout" in l["msg"], l' "$LOG"
check "the handler's success is still counted" \
    [ "$(metric 'tycho_sqs_consumer_processed_total{queue="del-fail"}')" = 1 ]
serve_stop
check "tycho exits 0" [ "$SERVE_RC" = 0 ]
finish
