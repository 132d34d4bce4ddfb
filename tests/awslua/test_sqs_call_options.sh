#!/usr/bin/env bash
# tycho.sqs calls take aws.call's timeout and max_attempts (docs/routes.md,
# "tycho.sqs"), checked against the SQS emulator (local-aws-sqs) over HTTP:
#   - with the emulator answering, every call with the options succeeds;
#   - stalled (SIGSTOP): a call with { timeout = 0.5, max_attempts = 1 }
#     ends after one attempt in about 0.5 s (a TransportError, 504), and
#     max_attempts = 2 makes two attempts; a timeout under 1 ms is 1 ms;
#   - gone (killed: connections refused): max_attempts = 1 is one attempt,
#     the default three.
# (spec/sqs_spec.lua checks the options on the local backend and on the
# emulator, test_faults.sh against a throttling endpoint.)
. "$(dirname "$0")/lib.sh"
tycho_start_local_sqs || exit 1
aws_clean_env
use_local_sqs
export TEST_CONSUMER=off
Q=$(jget "$(curl -sS "$LOCAL_SQS_URL/" -H 'X-Amz-Target: AmazonSQS.CreateQueue' \
    -H 'Content-Type: application/x-amz-json-1.0' -d '{"QueueName":"tycho-test-opts"}')" QueueUrl)
[ -n "$Q" ] || { echo "cannot create the queue on local-aws-sqs"; exit 1; }
serve_start opts --workers 1 || exit 1

# sqs OP ARGS_JSON OPTS_JSON: one call through POST /sqs
sqs() { post /sqs "{\"queue_url\":\"$Q\",\"op\":\"$1\",\"args\":$2,\"opts\":$3}"; }
# field PATH of the last answer
f() { jget "$r" "$1"; }

O='{"timeout":5,"max_attempts":1}'
r=$(sqs send '["one"]' "$O")
check "answering: send with timeout and max_attempts" [ "$(f ok)" = True ]
r=$(sqs receive '[]' '{"wait":1,"timeout":5,"max_attempts":1}')
check "answering: receive with timeout and max_attempts" [ "$(f ok)/$(f result.0.body)" = True/one ]
h=$(f result.0.receipt_handle)
r=$(sqs change_visibility "[\"$h\",30]" "$O")
check "answering: change_visibility with the options" [ "$(f ok)" = True ]
r=$(sqs delete "[\"$h\"]" "$O")
check "answering: delete with the options" [ "$(f ok)" = True ]
r=$(sqs send_batch '[["a","b"]]' "$O")
check "answering: send_batch with the options" [ "$(f ok)/$(f result.successful.1.index)" = True/2 ]

# stalled: the emulator accepts connections but answers nothing
kill -STOP "$LOCAL_SQS_PID"
for op in send receive delete; do
    case $op in
        send) args='["x"]' ;;
        receive) args='[]' ;;
        delete) args="[\"$h\"]" ;;
    esac
    r=$(sqs $op "$args" '{"timeout":0.5,"max_attempts":1}')
    check "stalled: $op with timeout 0.5, max_attempts 1: one attempt, TransportError 504" \
        [ "$(f ok)/$(f error.type)/$(f error.attempts)/$(f error.http_status)" = False/TransportError/1/504 ]
    check "stalled: $op ends in about 0.5 s ($(f seconds) s)" \
        /usr/bin/python3 -c 'import sys; assert 0.4 <= float(sys.argv[1]) < 1.5' "$(f seconds)"
done
# under 1 ms rounds up to 1 ms, not down to 0 ms (the client's default, 30 s)
r=$(sqs send '["x"]' '{"timeout":0.0001,"max_attempts":1}')
check "stalled: send with timeout 0.0001 s: one attempt, TransportError 504" \
    [ "$(f ok)/$(f error.type)/$(f error.attempts)/$(f error.http_status)" = False/TransportError/1/504 ]
check "stalled: send with timeout 0.0001 s ends at once, not after 30 s ($(f seconds) s)" \
    /usr/bin/python3 -c 'import sys; assert float(sys.argv[1]) < 1' "$(f seconds)"
r=$(sqs receive '[]' '{"wait":0,"timeout":0.5,"max_attempts":2}')
check "stalled: receive with max_attempts 2: two attempts, within the two timeouts and one backoff" \
    [ "$(f error.attempts)" = 2 ] && /usr/bin/python3 -c 'import sys; assert 0.9 <= float(sys.argv[1]) < 3.5' "$(f seconds)"
kill -CONT "$LOCAL_SQS_PID"
r=$(sqs send '["after"]' "$O")
check "resumed: send works again" [ "$(f ok)" = True ]

# gone: connections refused
kill "$LOCAL_SQS_PID"
wait "$LOCAL_SQS_PID" 2>/dev/null
r=$(sqs receive '[]' '{"max_attempts":1}')
check "refused: receive with max_attempts 1: one attempt" \
    [ "$(f error.type)/$(f error.attempts)/$(f error.http_status)" = TransportError/1/502 ]
r=$(sqs send '["x"]' '{}')
check "refused: send without options: the default three attempts" \
    [ "$(f error.type)/$(f error.attempts)" = TransportError/3 ]
r=$(sqs delete_batch "[[\"$h\"]]" '{"max_attempts":1}')
check "refused: delete_batch with max_attempts 1: its entry failed after one attempt" \
    [ "$(f ok)/$(f result.failed.0.code)/$(f result.failed.0.error.attempts)" = True/TransportError/1 ]
r=$(sqs receive '[]' '{"max_attempts":0}')
check "a bad max_attempts is refused as aws.call refuses it" \
    [ "$(f error.type)/$(f error.message)" = "InvalidParameterValue/tycho.aws.call: opts.max_attempts must be an integer from 1 to 50, got 0" ]

serve_stop
check "tycho exits 0" [ "$SERVE_RC" = 0 ]
finish
