#!/usr/bin/env bash
# An SQS consumer whose ReceiveMessage keeps failing (local-aws-sqs killed:
# connections refused) backs off instead of spinning: exponentially from
# 1 s up to 30 s, with jitter (server/lua/consumer.c, backoff_ms); its
# warning is rate-limited (core/ratelog: one line, then at most one a
# minute, but a different error at once); and once the emulator is back,
# the consumer polls and receives again, saying so once, and a later
# failure starts from the first step.
. "$(dirname "$0")/lib.sh"
tycho_start_local_sqs || exit 1
aws_clean_env
use_local_sqs
export AWS_ENDPOINT_URL_DYNAMODB="http://127.0.0.1:1"
export TEST_QUEUE=tycho-test-backoff TEST_CONCURRENCY=1 TEST_VISIBILITY=30

create_queue() { sqs_peer CreateQueue "{\"QueueName\":\"$TEST_QUEUE\"}" >/dev/null; }
receives() { # ReceiveMessage attempts with outcome $1 so far
    local v
    v=$(curl -sS "http://127.0.0.1:$ADMIN/metrics" | grep '^aws_requests_total{' |
        grep 'operation="ReceiveMessage"' | grep "outcome=\"$1\"" | awk '{print $NF}')
    echo "${v:-0}"
}
receives_ge() { [ "$(receives "$1")" -ge "$2" ]; }
warnings() { grep -c '"sqs consumer: ReceiveMessage failed; retrying"' "$LOG"; }
metric_ge() { local v; v=$(metric "$1"); [ -n "$v" ] && [ "${v%.*}" -ge "$2" ]; }

create_queue
serve_start backoff --workers 1 || exit 1
check "the consumer polls" wait_until 10 receives_ge success 1

kill "$LOCAL_SQS_PID"
wait "$LOCAL_SQS_PID" 2>/dev/null
check "the emulator gone, polls fail" wait_until 10 receives_ge transport_error 1
n0=$(receives transport_error)
sleep 6
n=$(receives transport_error)
# a poll is one call of up to 3 attempts; pauses of 0.5-1, 1-2, 2-4, 4-8 s
# leave room for at most 4 polls in any 6 s after the first failure (a
# spinning consumer: hundreds). Counted from when the test saw that failure,
# not from the start: a loaded machine may see it late, and the polls before
# are not in the window.
check "failing for 6 s: at most 4 polls of 3 attempts ($((n - n0)) attempts)" [ $((n - n0)) -le 12 ]
check "failing for 6 s: more than one poll (it retries: $n attempts)" [ "$n" -ge 4 ]
check "one warning line for all these failures (rate-limited: $(warnings))" [ "$(warnings)" = 1 ]
check "the warning names the queue and the error" /usr/bin/python3 -c '
import json, sys
l = [json.loads(x) for x in open(sys.argv[1]) if "ReceiveMessage failed" in x][0]
assert l["queue"] == "tycho-test-backoff" and l["level"] == "warn", l
assert l["consecutive_errors"] == 1 and l["failures_not_logged"] == 0 and l["error"], l' "$LOG"

# back: the same port, the queue created again, a message waiting
_tycho_start local-aws-sqs-again "$LOCAL_SQS_PORT" node "$TYCHO_PEERS_DIR/sqs_server.js" \
    "$LOCAL_SQS_PORT" || exit 1
LOCAL_SQS_PID=$_tycho_last_pid
create_queue
sqs_peer SendMessage "{\"QueueUrl\":\"$LOCAL_SQS_URL/123456789012/$TEST_QUEUE\",\"MessageBody\":\"{\\\"key\\\":\\\"back\\\"}\"}" >/dev/null
check "the emulator back: the consumer receives again (within the 8 s pause)" \
    wait_until 20 metric_ge "tycho_sqs_consumer_received_total{queue=\"$TEST_QUEUE\"}" 1
check "the recovery is logged once" \
    [ "$(grep -c '"sqs consumer: polling again after failures"' "$LOG")" = 1 ]

# a new failure after the recovery is logged at once (the rate limit reset).
# (The lines so far: the outage's, and maybe a QueueDoesNotExist of a poll
# that met the emulator back before its queue was: counted, not assumed.)
kill "$LOCAL_SQS_PID"
wait "$LOCAL_SQS_PID" 2>/dev/null
base=$(grep -c 'ReceiveMessage failed' "$LOG")
check "a new failure after recovering: logged at once, from the first step" \
    wait_until 10 /usr/bin/python3 -c '
import json, sys
ls = [json.loads(x) for x in open(sys.argv[1]) if "ReceiveMessage failed" in x][int(sys.argv[2]):]
assert len(ls) == 1 and ls[0]["consecutive_errors"] == 1, ls' "$LOG" "$base"

# a different error while failing is logged at once, not a minute later:
# the emulator back without the queue, so the polls now meet QueueDoesNotExist
_tycho_start local-aws-sqs-empty "$LOCAL_SQS_PORT" node "$TYCHO_PEERS_DIR/sqs_server.js" \
    "$LOCAL_SQS_PORT" || exit 1
LOCAL_SQS_PID=$_tycho_last_pid
check "a new error while failing (the queue gone): logged at once, with its code" \
    wait_until 20 /usr/bin/python3 -c '
import json, sys
ls = [json.loads(x) for x in open(sys.argv[1]) if "ReceiveMessage failed" in x][int(sys.argv[2]):]
assert len(ls) == 2 and "does not exist" in ls[1]["error"], ls
assert ls[1]["consecutive_errors"] > 1, ls' "$LOG" "$base"
sleep 3
check "the same new error again: not logged again" /usr/bin/python3 -c '
import json, sys
ls = [json.loads(x) for x in open(sys.argv[1]) if "ReceiveMessage failed" in x][int(sys.argv[2]):]
assert len(ls) == 2, ls' "$LOG" "$base"

serve_stop
check "tycho exits 0" [ "$SERVE_RC" = 0 ]
finish
