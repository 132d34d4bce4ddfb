#!/usr/bin/env bash
# A DeleteMessageBatch answer can list an entry as failed while the call
# itself succeeds. An entry SQS failed on its side (SenderFault false:
# InternalError) is sent again after the delete pause, so the handled
# message is deleted and not run twice; one SQS refuses (SenderFault true:
# ReceiptHandleIsInvalid) is given up at once: counted in
# tycho_sqs_consumer_not_deleted_total, and the message comes back after
# its visibility timeout. Against local-aws-sqs behind
# tests/aws/tamper_proxy.py, which fails the first entry of the next
# DeleteMessageBatch as told.
. "$(dirname "$0")/lib.sh"
tycho_start_local_sqs || exit 1
aws_clean_env
use_tampered_sqs || exit 1
QURL="$LOCAL_SQS_URL/123456789012/del-entry"
sqs_peer CreateQueue '{"QueueName":"del-entry","Attributes":{"VisibilityTimeout":"2"}}' >/dev/null

mkdir -p "$TEST_TMP/routes"
cat >"$TEST_TMP/routes/app.lua" <<'LUA'
return {
  { "GET", "/health", function() return 200, { ok = true } end },
  consumers = { { queue = "del-entry", wait = 1, batch = 1, visibility = 2, handler = function() end } },
}
LUA
fail_next_delete() {
    curl -sS -X POST "$TAMPER_URL/__control/config" \
        -d "{\"fail_deletes\":1,\"fail_sender_fault\":$1}" >/dev/null
}
delete_calls() {
    curl -sS "http://127.0.0.1:$ADMIN/metrics" | grep '^aws_requests_total{' |
        grep 'operation="DeleteMessageBatch"' | awk '{s += $NF} END {print s + 0}'
}
q() { metric "tycho_sqs_consumer_$1_total{queue=\"del-entry\"}"; }
in_queue() { # visible + in flight, as local-aws-sqs counts them
    sqs_peer GetQueueAttributes "{\"QueueUrl\":\"$QURL\",\"AttributeNames\":[\"All\"]}" |
        /usr/bin/python3 -c 'import json, sys; a = json.load(sys.stdin)["Attributes"]
print(int(a["ApproximateNumberOfMessages"]) + int(a["ApproximateNumberOfMessagesNotVisible"]))'
}

ROUTES="$TEST_TMP/routes" serve_start entries --workers 1 || exit 1

# --- SQS's own failure: the entry is sent again, the message deleted --------
fail_next_delete false
sqs_peer SendMessage "{\"QueueUrl\":\"$QURL\",\"MessageBody\":\"one\"}" >/dev/null
calls_ge() { [ "$(delete_calls)" -ge "$1" ]; }
check "the failed entry is sent again (a second DeleteMessageBatch)" wait_until 15 calls_ge 2
empty() { [ "$(in_queue)" = 0 ]; }
check "the message is deleted" wait_until 10 empty
sleep 2.5 # past the visibility timeout: a message not deleted would be received again
check "the handler ran once ($(q received) received, $(q processed) processed)" \
    [ "$(q received)" = 1 ] && [ "$(q processed)" = 1 ]
check "nothing counted as not deleted" [ "$(q not_deleted)" = 0 ]
check "two DeleteMessageBatch calls in all ($(delete_calls))" [ "$(delete_calls)" = 2 ]
check "the warning says the entry is retried" /usr/bin/python3 -c '
import json, sys
l = [json.loads(x) for x in open(sys.argv[1]) if "could not be deleted" in x]
assert len(l) == 1 and l[0]["error"] == "InternalError" and l[0]["retrying"] == 1, l
assert l[0]["retry_in_ms"] >= 500, l' "$LOG"

# --- a refused entry: given up at once, the message comes back ---------------
fail_next_delete true
sqs_peer SendMessage "{\"QueueUrl\":\"$QURL\",\"MessageBody\":\"two\"}" >/dev/null
gave_up() { [ "$(q not_deleted)" = 1 ]; }
check "the refused entry is counted as not deleted" wait_until 15 gave_up
check "and not sent again ($(delete_calls) calls)" [ "$(delete_calls)" = 3 ]
back() { [ "$(q received)" = 3 ] && [ "$(q processed)" = 3 ] && [ "$(in_queue)" = 0 ]; }
check "the message came back after its visibility timeout, ran again and was deleted" \
    wait_until 20 back
check "the refusal was logged with SQS's code" grep -q '"error":"ReceiptHandleIsInvalid"' "$LOG"
serve_stop
check "tycho exits 0" [ "$SERVE_RC" = 0 ]
finish
