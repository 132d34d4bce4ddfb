#!/usr/bin/env bash
# A received SQS message whose MD5OfBody or MD5OfMessageAttributes does not
# match fails only itself, not the receive (docs/routes.md, "tycho.sqs"):
# q:receive returns the other messages; the bad one is not deleted, so it
# comes back and the redrive policy moves it to the dead-letter queue; each
# rejection is one warning naming its MessageId (never its body) and counts
# in tycho_sqs_md5_mismatch_total{queue}. A consumer does the same: its
# handler runs for the good messages only, and the bad one is neither a
# handler failure nor deleted. Against local-aws-sqs behind
# tests/aws/tamper_proxy.py, which corrupts the digests of the messages
# whose body holds CORRUPT (body) or ATTRS (attributes). (A long poll of
# local-aws-sqs that outlasts the visibility timeout answers a message
# twice: the receives here do not wait longer than their visibility.)
. "$(dirname "$0")/lib.sh"
tycho_start_local_sqs || exit 1
aws_clean_env
use_tampered_sqs || exit 1
curl -sS -X POST "$TAMPER_URL/__control/config" -d '{"corrupt_body":"CORRUPT","corrupt_attrs":"ATTRS"}' >/dev/null

ACCOUNT="$LOCAL_SQS_URL/123456789012"
# queue NAME: a queue whose messages go to NAME-dlq on their third receive
queue() {
    sqs_peer CreateQueue "{\"QueueName\":\"$1-dlq\"}" >/dev/null
    sqs_peer CreateQueue "{\"QueueName\":\"$1\",\"Attributes\":{\"VisibilityTimeout\":\"1\",\
\"RedrivePolicy\":\"{\\\"deadLetterTargetArn\\\":\\\"arn:aws:sqs:us-east-1:123456789012:$1-dlq\\\",\
\\\"maxReceiveCount\\\":\\\"2\\\"}\"}}" >/dev/null
}
send() { sqs_peer SendMessage "{\"QueueUrl\":\"$ACCOUNT/$1\",\"MessageBody\":\"$2\"${3:-}}" >/dev/null; }
ATTR=',"MessageAttributes":{"kind":{"DataType":"String","StringValue":"order"}}'
queue md5-jobs
queue md5-consumed

mkdir -p "$TEST_TMP/routes"
cat >"$TEST_TMP/routes/app.lua" <<'LUA'
local sqs = require "tycho.sqs"
local log = require "tycho.log"
local json = require "tycho.json"
return {
  -- receives once from ?queue= and deletes what it got: its bodies, sorted
  { "GET", "/receive", function(req)
      local q = sqs.queue(req.query.queue)
      local bodies = {}
      for _, m in ipairs(q:receive { max = 10, wait = 0, visibility = 1 }) do
        bodies[#bodies + 1] = m.body
        q:delete(m)
      end
      table.sort(bodies)
      return 200, { bodies = json.array(bodies) }
  end },
  consumers = { {
    queue = "md5-consumed", wait = 1, batch = 10, visibility = 2,
    handler = function(msg) log.info("handled", { body = msg.body }) end,
  } },
}
LUA
ROUTES="$TEST_TMP/routes" serve_start md5 --workers 1 || exit 1
M='tycho_sqs_md5_mismatch_total'
scrape=$(curl -sS "http://127.0.0.1:$ADMIN/metrics")
check "$M is declared from the start" grep -qx "# TYPE $M counter" <<<"$scrape"
check "a consumed queue's $M starts at 0" grep -qx "$M{queue=\"md5-consumed\"} 0" <<<"$scrape"

# --- q:receive -------------------------------------------------------------
send md5-jobs good-1
send md5-jobs CORRUPT-secret-body
send md5-jobs ATTRS-x "$ATTR"
send md5-jobs good-2 "$ATTR"
r=$(get "/receive?queue=md5-jobs")
check "one receive: the good messages are returned ($r)" [ "$(jget "$r" bodies)" = '["good-1", "good-2"]' ]
corrupted=$(jget "$(curl -sS "$TAMPER_URL/__control/log")" corrupted)
check "the proxy corrupted two messages of that answer" [ "$(jget "$corrupted" 1)" != "" ]
check "$M counts both" [ "$(metric "$M{queue=\"md5-jobs\"}")" = 2 ]
REJECTED='sqs: received message rejected, left on the queue'
check "one warning per rejected message, naming its id and the digest" /usr/bin/python3 -c '
import json, sys
lines = [json.loads(x) for x in open(sys.argv[1]) if sys.argv[3] in x]
ids = json.loads(sys.argv[2])
assert sorted(l["message_id"] for l in lines) == sorted(ids), (lines, ids)
assert all(l["level"] == "warn" and l["queue"] == "md5-jobs" for l in lines), lines
problems = sorted(l["problem"] for l in lines)
assert problems == ["MD5OfBody does not match the body received",
                    "MD5OfMessageAttributes does not match the attributes received"], problems' \
    "$LOG" "$corrupted" "$REJECTED"
check "no message body is logged" bash -c "! grep -q 'secret-body' '$LOG'"
sleep 1.2 # their visibility timeout: both come back, rejected again (receive count 2)
r=$(get "/receive?queue=md5-jobs")
check "they came back and were rejected again ($r)" \
    [ "$(jget "$r" bodies)/$(metric "$M{queue=\"md5-jobs\"}")" = "[]/4" ]
sleep 1.2
r=$(get "/receive?queue=md5-jobs")
check "after maxReceiveCount they are gone from the queue" [ "$(jget "$r" bodies)" = "[]" ]
dlq=$(sqs_peer ReceiveMessage "{\"QueueUrl\":\"$ACCOUNT/md5-jobs-dlq\",\"MaxNumberOfMessages\":10}")
check "... and in the dead-letter queue" /usr/bin/python3 -c '
import json, sys
bodies = sorted(m["Body"] for m in json.loads(sys.argv[1])["Messages"])
assert bodies == ["ATTRS-x", "CORRUPT-secret-body"], bodies' "$dlq"

# --- a consumer ------------------------------------------------------------
send md5-consumed good-c1
send md5-consumed CORRUPT-c2
send md5-consumed good-c3
processed() { [ "$(metric 'tycho_sqs_consumer_processed_total{queue="md5-consumed"}')" = 2 ]; }
check "the consumer handled the good messages" wait_until 15 processed
handled=$(grep '"msg":"handled"' "$LOG" | sed -E 's/.*"body":"([^"]*)".*/\1/' | sort | tr '\n' ' ')
check "the handler ran for them only ($handled)" [ "$handled" = "good-c1 good-c3 " ]
in_dlq() {
    sqs_peer ReceiveMessage "{\"QueueUrl\":\"$ACCOUNT/md5-consumed-dlq\",\"MaxNumberOfMessages\":10}" |
        grep -q 'CORRUPT-c2'
}
check "the bad one was not deleted: after two receives it is in the dead-letter queue" wait_until 20 in_dlq
check "$M counts its two receives" [ "$(metric "$M{queue=\"md5-consumed\"}")" = 2 ]
check "not counted as a handler failure" \
    [ "$(metric 'tycho_sqs_consumer_failed_total{queue="md5-consumed"}')" = 0 ]
check "no 'handler failed' line for it" bash -c "! grep -q 'handler failed' '$LOG'"
check "one warning per receive, for the consumer's queue" \
    [ "$(grep "$REJECTED" "$LOG" | grep -c '"queue":"md5-consumed"')" = 2 ]
serve_stop TERM
check "tycho exited cleanly" [ "$SERVE_RC" = 0 ]
finish
