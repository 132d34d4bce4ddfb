#!/usr/bin/env bash
# SQS's 12-hour cap on a message's invisibility, through a real tycho serve on
# the local backend: a route receives a message and extends its visibility
# with tycho.sqs. An extension that would hide it for more than 43200 s
# counted from its receive is refused with SQS's InvalidParameterValue (the
# route sees it as an aws.Error); one within the cap is taken, and the
# message then stays hidden.
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

app_stop
check "tycho exits 0" [ $? = 0 ]
trap - EXIT
finish
