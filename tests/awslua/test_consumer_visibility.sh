#!/usr/bin/env bash
# An SQS consumer extends the visibility of a message while its handler runs
# (every visibility / 2 seconds). When SQS refuses an extension for good, a
# 4xx such as ReceiptHandleIsInvalid (here: the handler deleted its own
# message first, then kept working), the extensions of that message stop
# with one warning, instead of one warning per tick for as long as the
# handler runs. Against local-aws-sqs.
. "$(dirname "$0")/lib.sh"
tycho_start_local_sqs || exit 1
aws_clean_env
use_local_sqs
QURL="$LOCAL_SQS_URL/123456789012/vis-early-delete"
sqs_peer CreateQueue '{"QueueName":"vis-early-delete"}' >/dev/null

mkdir -p "$TEST_TMP/routes"
cat >"$TEST_TMP/routes/app.lua" <<'LUA'
local time = require "tycho.time"
return {
  { "GET", "/health", function() return 200, { ok = true } end },
  consumers = { {
    queue = "vis-early-delete", visibility = 1, wait = 1, batch = 1,
    handler = function(msg)
      msg.queue:delete(msg) -- at most once: done with SQS, then the work
      time.sleep(3)
    end,
  } },
}
LUA
ROUTES="$TEST_TMP/routes" serve_start vis --workers 1 || exit 1
sqs_peer SendMessage "{\"QueueUrl\":\"$QURL\",\"MessageBody\":\"work\"}" >/dev/null
processed() { [ "$(metric 'tycho_sqs_consumer_processed_total{queue="vis-early-delete"}')" = 1 ]; }
check "the handler ran to its end" wait_until 15 processed
warned() { grep -c '"sqs consumer: could not extend a message'"'"'s visibility"' "$LOG"; }
check "one warning for 3 s of a refused handle, not one per half second ($(warned))" \
    [ "$(warned)" = 1 ]
check "the warning says the extensions stopped, with SQS's error" /usr/bin/python3 -c '
import json, sys
l = [json.loads(x) for x in open(sys.argv[1]) if "could not extend" in x][0]
assert l["extensions_stopped"] is True and "ReceiptHandleIsInvalid" in l["error"], l' "$LOG"
serve_stop
check "tycho exits 0" [ "$SERVE_RC" = 0 ]
finish
