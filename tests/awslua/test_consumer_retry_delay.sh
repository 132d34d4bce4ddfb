#!/usr/bin/env bash
# An SQS consumer with retry_delay sets a failed message's visibility to
# retry_delay seconds (ChangeMessageVisibility). When SQS refuses that
# (here: the handler deleted its message before failing, so the handle is
# no longer valid; in production a role without
# sqs:ChangeMessageVisibility), the warning says what it means for the
# message (retry_delay not applied: it comes back when its visibility timeout
# ends) and which message it was, instead of a bare 'call failed'.
# Against local-aws-sqs.
. "$(dirname "$0")/lib.sh"
tycho_start_local_sqs || exit 1
aws_clean_env
use_local_sqs
QURL="$LOCAL_SQS_URL/123456789012/retry-refused"
sqs_peer CreateQueue '{"QueueName":"retry-refused"}' >/dev/null

mkdir -p "$TEST_TMP/routes"
cat >"$TEST_TMP/routes/app.lua" <<'LUA'
return {
  { "GET", "/health", function() return 200, { ok = true } end },
  consumers = { {
    queue = "retry-refused", wait = 1, batch = 1, retry_delay = 5,
    handler = function(msg)
      msg.queue:delete(msg)
      error("failed after deleting its message")
    end,
  } },
}
LUA
ROUTES="$TEST_TMP/routes" serve_start retry --workers 1 || exit 1
MID=$(jget "$(sqs_peer SendMessage "{\"QueueUrl\":\"$QURL\",\"MessageBody\":\"work\"}")" MessageId)
warned() { grep -q 'could not apply retry_delay' "$LOG"; }
check "the refused ChangeMessageVisibility is warned about" wait_until 15 warned
check "the warning names the message, retry_delay, SQS's error and what happens instead" \
    /usr/bin/python3 -c '
import json, sys
l = [json.loads(x) for x in open(sys.argv[1]) if "could not apply retry_delay" in x][0]
assert l["message_id"] == sys.argv[2] and l["retry_delay"] == 5, l
assert l["queue"] == "retry-refused" and "ReceiptHandle" in l["error"], l
assert "visibility timeout" in l["msg"], l' "$LOG" "$MID"
serve_stop
check "tycho exits 0" [ "$SERVE_RC" = 0 ]
finish
