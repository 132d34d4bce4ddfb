#!/usr/bin/env bash
# SQS's 12-hour cap on a message's invisibility, through a real tycho serve on
# the local backend: a route receives a message and extends its visibility
# with tycho.sqs. An extension that would hide it for more than 43200 s
# counted from its receive is refused with SQS's InvalidParameterValue (the
# route sees it as an aws.Error); one within the cap is taken, and the
# message then stays hidden. A long poll woken by a later send counts its
# 12 hours from that wake (when it received the message), not from its start.
. "$(dirname "$0")/../aws/lib.sh"
. "$(dirname "$0")/app.sh"
app_clean_env
export TEST_CONSUMER=off # the test routes' consumer would take the message
trap 'app_stop >/dev/null 2>&1' EXIT
app_start "$TEST_TMP/data" tests/awslua/routes || exit 1

sqs() { http POST /sqs "{\"queue_url\":\"cap-jobs\",\"op\":\"$1\",\"args\":$2}"; }

sqs send '["long job"]'
check "sent ($BODY)" [ "$(jget "$BODY" ok)" = True ]
sqs receive '[{"visibility":60,"wait":1}]'
handle=$(jget "$BODY" result.0.receipt_handle)
check "received ($BODY)" [ -n "$handle" ]

# a moment after the receive, 43200 s from now is past its 12 hours
sqs change_visibility "[\"$handle\",43200]"
check "43200 s more is refused ($BODY)" \
    [ "$(jget "$BODY" error.type)" = InvalidParameterValueException ]
check "as a client error" [ "$(jget "$BODY" error.status)" = 400 ]
check "with SQS's reason" [ "$(jget "$BODY" error.details.message)" = \
    "Value 43200 for parameter VisibilityTimeout is invalid. Reason: Total VisibilityTimeout for the message is beyond the limit [43200 seconds]" ]

sqs change_visibility "[\"$handle\",43000]"
check "43000 s more is taken ($BODY)" [ "$(jget "$BODY" ok)" = True ]
sqs receive '[{"wait":0}]'
check "and the message stays hidden ($BODY)" [ "$(jget "$BODY" result)" = "{}" ]

# A long poll woken by a send 3 s after it started: its message was received
# when the send woke it, and its 12 hours count from then, not from the
# start of the poll (43198 s more, 3 s after the poll started, is taken).
late() { http POST /sqs "{\"queue_url\":\"cap-late\",\"op\":\"$1\",\"args\":$2}"; }
late receive '[{"wait":0}]' # creates the queue
check "the queue is empty ($BODY)" [ "$(jget "$BODY" result)" = "{}" ]
(late receive '[{"visibility":60,"wait":8}]' && echo "$BODY" >"$TEST_TMP/late.json") &
poll=$!
sleep 3
late send '["woke the poll"]'
check "sent to the waiting poll ($BODY)" [ "$(jget "$BODY" ok)" = True ]
wait "$poll"
BODY=$(cat "$TEST_TMP/late.json")
handle=$(jget "$BODY" result.0.receipt_handle)
check "the poll got it when it was sent ($BODY)" [ -n "$handle" ]
check "after waiting about 3 s" /usr/bin/python3 -c 'import sys; assert 2.5 < float(sys.argv[1]) < 7' \
    "$(jget "$BODY" seconds)"
late change_visibility "[\"$handle\",43198]"
check "43198 s more is taken: the 12 hours count from the wake ($BODY)" [ "$(jget "$BODY" ok)" = True ]
late change_visibility "[\"$handle\",43200]"
check "43200 s more is refused ($BODY)" \
    [ "$(jget "$BODY" error.type)" = InvalidParameterValueException ]

app_stop
check "tycho exits 0" [ $? = 0 ]
trap - EXIT
finish
