#!/usr/bin/env bash
# What tycho says when the credentials cannot be had, through `tycho serve`
# and the reference app: a container endpoint (tests/aws/fake_aws.py) that
# answers credentials which had already expired is a failed refresh (a
# warning) and a CredentialsError whose log line shows the Expiration and the
# local time (what clock skew looks like), not "no credentials", logged once
# however many calls meet it (core/ratelog: the changing local time does
# not make it a new error); once the endpoint answers a good set, the next
# call gets it. An IMDS that times out is warned about once too, though
# curl's message names a slightly different number of milliseconds each time.
. "$(dirname "$0")/lib.sh"
aws_clean_env
tycho_start_fake_aws || exit 1
trap '[ -n "${PID:-}" ] && kill "$PID" 2>/dev/null; tycho_peers_stop' EXIT

export AWS_REGION=us-east-1 AWS_ENDPOINT_URL="$FAKE_AWS_URL" AWS_MAX_ATTEMPTS=1
export AWS_CONTAINER_CREDENTIALS_FULL_URI="$FAKE_AWS_URL/creds"
export TYCHO_AWS_BACKEND=aws TEST_CONSUMER=off SQS_CONSUMER=off
fake_ctl config '{"expiration_secs": -60}' >/dev/null

# save_fails WHAT: POST /save-data answers 502 CredentialsError
save_fails() {
    local out
    out=$(curl -sS -w '\n%{http_code}' -X POST "http://127.0.0.1:$PORT/save-data" -d '{"n":1}')
    check "$1: 502 CredentialsError" \
        [ "$(tail -n1 <<<"$out")/$(jget "$(head -n1 <<<"$out")" type)" = 502/CredentialsError ]
}

ROUTES="$TYCHO_SRC/routes" serve_start expired --workers 1 --data-dir "$TEST_TMP/data" || exit 1
save_fails "expired container credentials"
EXPIRED='container: returned credentials that had already expired (Expiration 20[0-9-]*T[0-9:]*Z, local time 20[0-9-]*T[0-9:]*Z; is the clock right?)'
check "a refresh-failed warning says they had expired, with both times" wait_until 5 \
    grep -q "aws credentials refresh failed.*$EXPIRED" "$LOG"
check "the call's error says so too" wait_until 5 \
    grep -q "DynamoDB PutItem failed.*no AWS credentials: $EXPIRED" "$LOG"
no_bare_message() { ! grep -q 'no AWS credentials: no credentials' "$LOG"; }
check "not the bare 'no credentials'" no_bare_message
# every call fetches again and meets the same stale set; the local time in
# the message changes each second, and that must not make each a new error
for i in 1 2 3; do
    sleep 1.1
    curl -sS -o /dev/null -X POST "http://127.0.0.1:$PORT/save-data" -d '{"n":1}'
done
warned() { grep -c '"aws credentials refresh failed"' "$LOG"; }
check "the same stale set at calls in four different seconds: one warning ($(warned))" \
    [ "$(warned)" = 1 ]

fake_ctl config '{"expiration_secs": 3600}' >/dev/null
out=$(curl -sS -w '\n%{http_code}' -X POST "http://127.0.0.1:$PORT/save-data" -d '{"n":1}')
check "a good set afterwards: saved" [ "$(tail -n1 <<<"$out")" = 201 ]
serve_stop

# bad_expiration NAME TEXT WHAT LOGGED: the container endpoint answers an
# Expiration TEXT; a save is refused (502 CredentialsError, WHAT) and the log
# says LOGGED (a grep pattern) within 5 s
bad_expiration() {
    fake_ctl config "{\"expiration_text\": \"$2\"}" >/dev/null
    ROUTES="$TYCHO_SRC/routes" serve_start "$1" --workers 1 --data-dir "$TEST_TMP/data-$1" || exit 1
    save_fails "$3"
    check "$3: the error says why" wait_until 5 grep -q "$4" "$LOG"
    serve_stop
}
# an Expiration whose offset is not hh:mm ("+1:2") is refused, not read past
# its end (it was: accepted, or an ASan heap-buffer-overflow in the sanitizer
# build; tests/fuzz/corpus/peer_replies/time_short_offset)
bad_expiration short-offset "2030-01-01T00:00:00+1:2" "an Expiration with offset +1:2" \
    "no AWS credentials: container: bad Expiration"
# an Expiration out of the calendar (April 31) is refused with its reason,
# not read as May 1 (timegm carries the day over)
bad_expiration april-31 "2030-04-31T00:00:00Z" "an Expiration on April 31" \
    "no AWS credentials: container: bad Expiration: day past the end of its month"
fake_ctl config '{"expiration_text": null, "expiration_secs": 3600}' >/dev/null

# an instance metadata service that does not answer in time: every call
# fails its fetch with curl's "timed out after N milliseconds", N a little
# different each time; that is one error, warned about once
unset AWS_CONTAINER_CREDENTIALS_FULL_URI
export AWS_EC2_METADATA_DISABLED=false AWS_EC2_METADATA_SERVICE_ENDPOINT="$FAKE_AWS_URL"
export AWS_EC2_METADATA_V1_DISABLED=true AWS_METADATA_SERVICE_TIMEOUT=50ms
fake_ctl config '{"imds_delay_ms": 300}' >/dev/null
ROUTES="$TYCHO_SRC/routes" serve_start imds-slow --workers 1 --data-dir "$TEST_TMP/data2" || exit 1
for i in 1 2 3 4 5 6 7 8; do
    curl -sS -o /dev/null -X POST "http://127.0.0.1:$PORT/save-data" -d '{"n":1}'
done
timeouts() { grep '"aws credentials refresh failed"' "$LOG" | grep -c 'timed out after'; }
check "IMDS timing out at 8 calls: one warning ($(timeouts))" [ "$(timeouts)" = 1 ]
check "the calls' errors name the timeout" \
    grep -q 'PutItem failed.*no AWS credentials: imds: token request: .*timed out after' "$LOG"
serve_stop
finish
