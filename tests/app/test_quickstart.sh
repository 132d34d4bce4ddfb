#!/usr/bin/env bash
# The README's walkthrough, as a newcomer runs it: `tycho serve --routes
# routes` with no AWS or app configuration at all (the embedded local
# backend creates the queue and the table), then a curl for every endpoint
# (the API description at /openapi.json and its /docs page included),
# checking statuses and shapes — including the workflow reaching
# "processed" through the SQS consumer — and the live edit of a route.
# The checks below are single-quoted on purpose: `check` evals them.
# shellcheck source=tests/aws/lib.sh disable=SC2016,SC2034
. "$(dirname "$0")/../aws/lib.sh"
aws_clean_env
for v in $(compgen -e | grep -E '^(TYCHO_|SQS_|DYNAMODB_|OTEL_|SIMULATED_|SAMPLE_LOG_|MAX_PAYLOAD_)' |
    grep -vE '^TYCHO_(BIN|SRC|BUILD|SANITIZE|PEERS_.*)$'); do
    unset "$v"
done

# start ROUTES_DIR: tycho serve on ports the kernel picks; sets URL, ADMIN, PID, LOG
start() {
    LOG="$TEST_TMP/serve-$RANDOM.log"
    (cd "$TYCHO_SRC" && exec "$TYCHO_BIN" serve --routes "$1" --listen 127.0.0.1:0 \
        --admin-listen 127.0.0.1:0 --data-dir "$TEST_TMP/data" >"$LOG" 2>&1) &
    PID=$!
    local i line
    for ((i = 0; i < 200; i++)); do
        line=$(grep -m1 '"msg":"listening"' "$LOG" 2>/dev/null) && break
        sleep 0.05
    done
    [ -n "$line" ] || { echo "tycho did not start:"; cat "$LOG"; return 1; }
    URL="http://$(jget "$line" public)"
    ADMIN="http://$(jget "$line" admin)"
}
stop() {
    kill -TERM "$PID" 2>/dev/null
    wait "$PID" 2>/dev/null
}

# req METHOD PATH [BODY]: sets STATUS and BODY
req() {
    local out
    if [ $# -ge 3 ]; then
        out=$(curl -sS --max-time 30 -X "$1" "$URL$2" -H 'Content-Type: application/json' -d "$3" -w '\n%{http_code}')
    else
        out=$(curl -sS --max-time 30 -X "$1" "$URL$2" -w '\n%{http_code}')
    fi
    STATUS=${out##*$'\n'}
    BODY=${out%$'\n'*}
}
# has FIELD...: every field is present in BODY
has() {
    local f
    for f in "$@"; do
        [ -n "$(jget "$BODY" "$f")" ] || { echo "  missing $f in $BODY"; return 1; }
    done
}
# logged: the log is written by the telemetry thread within ~20 ms of the
# line (a loaded machine, ASan: much later), so look again for up to 10 s
# before failing
logged() {
    local i
    for ((i = 0; i < 200; i++)); do
        grep -q "$1" "$LOG" && return 0
        sleep 0.05
    done
    echo "  no line matching $1 in the log"
    return 1
}
is() { [ "$(jget "$BODY" "$1")" = "$2" ] || { echo "  $1 is '$(jget "$BODY" "$1")', not '$2': $BODY"; return 1; }; }

start routes || exit 1
check "no configuration: serves on the local backend" grep -q '"aws_backend":"local"' "$LOG"

req GET /
check "GET / -> 200 { message, visit_time }" eval '[ "$STATUS" = 200 ] && has message visit_time'
req GET /health
check "GET /health -> 200 healthy" eval '[ "$STATUS" = 200 ] && is status healthy && has timestamp generation'
req GET "/health?deep=1"
check "GET /health?deep=1 -> 200, queue, dead-letter queue and table ok" eval '[ "$STATUS" = 200 ] && is checks.queue.status ok &&
    is checks.dead_letter_queue.status ok && is checks.table.status ok'
req GET /test-telemetry
check "GET /test-telemetry -> 200 with the trace id" eval '[ "$STATUS" = 200 ] &&
    has message timestamp response_time telemetry_enabled trace_id'
req POST /send-message
check "POST /send-message -> 202" eval '[ "$STATUS" = 202 ] && has message message_id sqs_message_id timestamp'
req POST /send-message '{"content": {"order": 42}, "attributes": {"priority": "high"}}'
check "POST /send-message with a body -> 202" eval '[ "$STATUS" = 202 ] && has sqs_message_id'
req GET "/receive-messages?max=10&wait=1"
check "GET /receive-messages -> 200 { message, messages, timestamp }" eval '[ "$STATUS" = 200 ] &&
    has message timestamp && [ "$(jget "$BODY" messages | head -c1)" = "[" ]'
req POST /save-data '{"user_id": "alice", "score": 42}'
check "POST /save-data -> 201 { message, id, timestamp }" eval '[ "$STATUS" = 201 ] && has message id timestamp'
id=$(jget "$BODY" id)
req GET "/get-data/$id"
check "GET /get-data/:id -> 200, what was saved" eval '[ "$STATUS" = 200 ] && is data.user_id alice &&
    is data.data.score 42 && is data.id "$id" && has data.timestamp data.created_at data.ttl'
req GET /get-data/no-such-id
check "GET /get-data/<unknown> -> 404 not found" eval '[ "$STATUS" = 404 ] && is error "not found"'
req POST /save-data '{"score": '
check "POST /save-data with bad JSON -> 400" eval '[ "$STATUS" = 400 ] && has error'
req GET /workflow
check "GET /workflow -> 200 { message, data_id, workflow_time, timestamp, steps_completed }" eval '
    [ "$STATUS" = 200 ] && has message data_id workflow_time timestamp steps_completed'
data_id=$(jget "$BODY" data_id)
for ((i = 0; i < 100; i++)); do
    req GET "/get-data/$data_id"
    [ "$(jget "$BODY" data.status)" = processed ] && break
    sleep 0.1
done
check "the consumer marks the workflow's item processed" eval 'is data.status processed && has data.processed_at'
req POST /workflow '{"user_id": "bob"}'
check "POST /workflow with a body -> 200" eval '[ "$STATUS" = 200 ] && has data_id'

# The API description, checked by an independent validator
# (tests/app/package.json), and the page that reads it, its script (served
# beside it) run in a stand-in DOM (spec/docs_spec.lua checks the rest).
curl -sS --max-time 30 -o "$TEST_TMP/openapi.json" -w '%{http_code} %{content_type}' "$URL/openapi.json" >"$TEST_TMP/openapi.status"
check "GET /openapi.json -> 200 application/json" grep -qx '200 application/json' "$TEST_TMP/openapi.status"
check "/openapi.json is a valid OpenAPI 3.1 document" node "$TYCHO_SRC/tests/app/check_openapi.mjs" "$TEST_TMP/openapi.json"
curl -sS --max-time 30 -D "$TEST_TMP/docs.head" -o "$TEST_TMP/docs.html" -w '%{http_code} %{content_type}' "$URL/docs" >"$TEST_TMP/docs.status"
check "GET /docs -> 200 text/html" grep -qx '200 text/html; charset=utf-8' "$TEST_TMP/docs.status"
check "/docs allows scripts of its own origin only" grep -qi "^content-security-policy: .*script-src 'self'" "$TEST_TMP/docs.head"
curl -sS --max-time 30 -D "$TEST_TMP/docs.js.head" -o "$TEST_TMP/docs.js" "$URL/docs/app.js"
check "GET /docs/app.js -> 200 text/javascript" grep -qi '^content-type: text/javascript' "$TEST_TMP/docs.js.head"
check "the page's script parses" node --check "$TEST_TMP/docs.js"
check "/docs lists every operation and sends requests from its forms" \
    node "$TYCHO_SRC/tests/app/docs_page_check.mjs" "$URL" "$TEST_TMP/docs.js"

metrics=$(curl -sS "$ADMIN/metrics")
for m in 'user_actions_total{action="visit"}' 'user_actions_total{action="workflow"}' \
    'sqs_messages_sent_total{message_type="workflow"}' 'sqs_messages_received_total{message_type="workflow"}' \
    'dynamodb_operations_total{operation="PutItem",status="success"}' 'tycho_sqs_consumer_processed_total{queue="tycho-messages"}'; do
    check "admin /metrics has $m" grep -qF "$m" <<<"$metrics"
done
check "the access log names the route pattern" logged '"route":"/get-data/:id"'
stop

# Edit a route while tycho runs: the next request is served by the new code.
cp -r "$TYCHO_SRC/routes" "$TEST_TMP/routes"
start "$TEST_TMP/routes" || exit 1
req GET /
check "before the edit: Hello from tycho!" is message "Hello from tycho!"
sed -i 's/Hello from tycho!/Hello again!/' "$TEST_TMP/routes/index.lua"
for ((i = 0; i < 100; i++)); do
    req GET /
    [ "$(jget "$BODY" message)" = "Hello again!" ] && break
    sleep 0.05
done
check "after the edit: Hello again!, without a restart" is message "Hello again!"
check "the reload is logged" logged '"msg":"routes reloaded"'
sed -i 's/return { message = "Hello again!"/return { message = /' "$TEST_TMP/routes/index.lua"
status_shows_error() { grep -q 'index.lua:[0-9]' <<<"$(curl -sS "$ADMIN/-/status")"; }
check "/-/status shows the reload error with file:line" wait_until 10 status_shows_error
req GET /
check "a broken edit keeps the previous routes serving" is message "Hello again!"
stop
finish
