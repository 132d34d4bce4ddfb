#!/usr/bin/env bash
# The queue depth poll of an SQS consumer (worker 0, every
# TYCHO_SQS_DEPTH_INTERVAL) against local-aws-sqs when its calls fail: the
# queue's dead-letter queue was deleted, so each round's GetQueueUrl of it
# fails. The warning names the call and the queue it asked about (the DLQ,
# not the consumed queue, which is fine), and is rate-limited like the poll's
# (core/ratelog: one line, then at most one a minute; a different error at
# once), instead of one line per round. First, rounds slower than the
# interval (1ms: every call outlasts it): one round at a time, each answer
# read as the call that asked for it. A tick during a call used to restart
# the round's steps under it, so the dead-letter queue's answers were taken
# for the queue's own (its depth reported as the queue's, or never).
. "$(dirname "$0")/lib.sh"
tycho_start_local_sqs || exit 1
aws_clean_env
use_local_sqs

mkdir -p "$TEST_TMP/slow"
cat >"$TEST_TMP/slow/app.lua" <<'LUA'
return {
  { "GET", "/health", function() return 200, { ok = true } end },
  consumers = { { queue = "slow-main", handler = function() end, wait = 1 } },
}
LUA
sqs_peer CreateQueue '{"QueueName":"slow-dlq"}' >/dev/null
sqs_peer CreateQueue '{"QueueName":"slow-main","Attributes":{"RedrivePolicy":"{\"deadLetterTargetArn\":\"arn:aws:sqs:us-east-1:123456789012:slow-dlq\",\"maxReceiveCount\":\"3\"}"}}' >/dev/null
for i in 1 2 3; do
    sqs_peer SendMessage "{\"QueueUrl\":\"$LOCAL_SQS_URL/123456789012/slow-dlq\",\"MessageBody\":\"dead-$i\"}" >/dev/null
done
TYCHO_SQS_DEPTH_INTERVAL=1ms ROUTES="$TEST_TMP/slow" serve_start slow --workers 1 || exit 1
dlq_depth() { [ "$(metric 'tycho_sqs_queue_depth{queue="slow-dlq"}')" = 3 ]; }
check "1ms interval: the dead-letter queue's depth is reported (3)" wait_until 15 dlq_depth
depths() { # both depths, as N scrapes saw them
    local i
    for ((i = 0; i < $1; i++)); do
        curl -sS "http://127.0.0.1:$ADMIN/metrics" | grep '^tycho_sqs_queue_depth{' | sort | tr '\n' ' '
        echo
        sleep 0.05
    done | sort | uniq -c
}
want='tycho_sqs_queue_depth{queue="slow-dlq"} 3 tycho_sqs_queue_depth{queue="slow-main"} 0 '
seen=$(depths 20)
check "... and each queue's own, in 20 scrapes: $(tr '\n' ';' <<<"$seen")" \
    [ "$(sed 's/^ *[0-9]* //' <<<"$seen")" = "$want" ]
check "... no depth poll failed" [ "$(grep -c '"sqs consumer: queue depth poll failed"' "$LOG")" = 0 ]
serve_stop
check "tycho exits 0" [ "$SERVE_RC" = 0 ]

export TYCHO_SQS_DEPTH_INTERVAL=100ms

sqs_peer CreateQueue '{"QueueName":"depth-dlq"}' >/dev/null
sqs_peer CreateQueue '{"QueueName":"depth-main","Attributes":{"RedrivePolicy":"{\"deadLetterTargetArn\":\"arn:aws:sqs:us-east-1:123456789012:depth-dlq\",\"maxReceiveCount\":\"3\"}"}}' >/dev/null
sqs_peer DeleteQueue "{\"QueueUrl\":\"$LOCAL_SQS_URL/123456789012/depth-dlq\"}" >/dev/null

mkdir -p "$TEST_TMP/routes"
cat >"$TEST_TMP/routes/app.lua" <<'LUA'
return {
  { "GET", "/health", function() return 200, { ok = true } end },
  consumers = { { queue = "depth-main", handler = function() end, wait = 1 } },
}
LUA
ROUTES="$TEST_TMP/routes" serve_start depth --workers 1 || exit 1
depth_lines() { grep -c '"sqs consumer: queue depth poll failed"' "$LOG"; }
rounds() { # GetQueueUrl attempts of the depth poll so far (the consumer's own was one)
    local v
    v=$(curl -sS "http://127.0.0.1:$ADMIN/metrics" | grep '^aws_requests_total{' |
        grep 'operation="GetQueueUrl"' | grep 'outcome="client_error"' | awk '{print $NF}')
    echo "${v:-0}"
}
rounds_ge() { [ "$(rounds)" -ge "$1" ]; }
check "the depth poll runs its rounds, each failing on the DLQ" wait_until 15 rounds_ge 10
check "one warning for $(rounds) failed rounds ($(depth_lines))" [ "$(depth_lines)" = 1 ]
check "the warning names the call and the dead-letter queue" /usr/bin/python3 -c '
import json, sys
l = [json.loads(x) for x in open(sys.argv[1]) if "queue depth poll failed" in x][0]
assert l["queue"] == "depth-main" and l["call"] == "GetQueueUrl" and l["of_queue"] == "depth-dlq", l
assert "does not exist" in l["error"] and l["failures_not_logged"] == 0, l' "$LOG"

# another error (SQS gone: the round's GetQueueAttributes cannot connect) at once
kill "$LOCAL_SQS_PID"
wait "$LOCAL_SQS_PID" 2>/dev/null
# (the kill may land during a round's GetQueueUrl of the DLQ: that call's
# connection error, another error again, is a line of its own first)
check "a different error is logged at once" wait_until 10 /usr/bin/python3 -c '
import json, sys
ls = [json.loads(x) for x in open(sys.argv[1]) if "queue depth poll failed" in x][1:]
assert 1 <= len(ls) <= 2 and all("does not exist" not in l["error"] for l in ls), ls
assert any(l["call"] == "GetQueueAttributes" and l["of_queue"] == "depth-main" for l in ls), ls' "$LOG"
n=$(depth_lines)
sleep 1
check "and only once ($n, then $(depth_lines))" [ "$(depth_lines)" = "$n" ]
serve_stop
check "tycho exits 0" [ "$SERVE_RC" = 0 ]
finish
