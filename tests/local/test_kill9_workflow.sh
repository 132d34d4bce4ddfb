#!/usr/bin/env bash
# kill -9 in the middle of the reference app's workflow, on the local
# backend: items are POSTed to /workflow (a client keeps posting while the
# kill happens) and the SQS consumer is processing some of them when tycho
# gets SIGKILL. tycho restarts on the same data dir. Checked: every POST
# acknowledged with a 2xx reaches the app's final state (status
# "processed", processed_at set), each exactly once; the messages that were
# in flight at the kill (received, not deleted) were delivered again, and
# not before their visibility timeout ended; the queue and its dead-letter
# queue end empty.
# To kill while handlers run, the test serves a copy of routes/ whose
# consumer takes DELAY seconds per message and uses a VISIBILITY-second
# visibility timeout (the app's 30 s would make the test wait 30 s): the
# only two edits, checked below.
# The checks below are single-quoted on purpose: `check` evals them.
# shellcheck disable=SC2016
# shellcheck source=tests/aws/lib.sh
. "$(dirname "$0")/../aws/lib.sh"
# shellcheck source=tests/local/app.sh
. "$TYCHO_SRC/tests/local/app.sh"
app_clean_env

DELAY=0.5
VISIBILITY=2
BATCH=12 # items posted before the kill

DATA=$TEST_TMP/data
ROUTES=$TEST_TMP/routes
POSTER=
cleanup() {
    [ -n "$POSTER" ] && kill "$POSTER" 2>/dev/null
    [ -n "${APP_PID:-}" ] && kill -KILL "$APP_PID" 2>/dev/null
    rm -rf "$TEST_TMP"
}
trap cleanup EXIT

cp -r "$TYCHO_SRC/routes" "$ROUTES"
sed -i -e "s/concurrency = 4, visibility = 30,/concurrency = 4, visibility = $VISIBILITY,/" \
    -e "s/^local function consume(msg)\$/&\n  time.sleep($DELAY) -- tests\/local\/test_kill9_workflow.sh/" \
    "$ROUTES/workflow.lua"
if ! grep -q "visibility = $VISIBILITY," "$ROUTES/workflow.lua" ||
    ! grep -q "^  time.sleep($DELAY)" "$ROUTES/workflow.lua"; then
    echo "FAIL - routes/workflow.lua changed: the consumer's visibility and delay edits no longer apply"
    exit 1
fi

ACKED=$TEST_TMP/acked # data_id of every acknowledged POST /workflow, one a line
: >"$ACKED"
# post N: N items, one after the other; stops at the first request with no answer
post() {
    local i
    for ((i = 0; i < $1; i++)); do
        http POST /workflow "{\"user_id\": \"kill9-$i\"}"
        [ "$STATUS" = 000 ] && return
        [ "$STATUS" = 200 ] && jget "$BODY" data_id >>"$ACKED"
        sleep "${2:-0}"
    done
}

app_start "$DATA" "$ROUTES" || exit 1
post "$BATCH"
check "$BATCH items posted and acknowledged" eval '[ "$(wc -l <"$ACKED")" = "$BATCH" ]'

# A client keeps posting while tycho is killed.
post 100 0.1 &
POSTER=$!

DB=$DATA/local-aws.sqlite3
# Kill once two items are processed, messages are in flight (received, not
# deleted) and the client has had a POST acknowledged.
for ((i = 0; i < 400; i++)); do
    state=$(sql "$DB" "SELECT (SELECT count(*) FROM ddb_items WHERE json_extract(item, '\$.status.S') = 'processed'),
        (SELECT count(*) FROM sqs_messages WHERE queue = 'tycho-messages' AND receive_count > 0)" 2>/dev/null)
    [ "${state%|*}" -ge 2 ] 2>/dev/null && [ "${state#*|}" -ge 1 ] && [ "$(wc -l <"$ACKED")" -gt "$BATCH" ] && break
    sleep 0.05
done
app_kill9
wait "$POSTER"
POSTER=
check "killed while processing (processed|in flight: $state)" eval '[ "${state%|*}" -ge 2 ] && [ "${state#*|}" -ge 1 ]'

# The state at the kill, read from a copy: the restart must recover the WAL itself.
mkdir "$TEST_TMP/at-kill"
cp "$DB"* "$TEST_TMP/at-kill/"
SNAP=$TEST_TMP/at-kill/local-aws.sqlite3
# data_id|visible_ms|item status of every message in flight at the kill
sql "$SNAP" "SELECT json_extract(m.body, '\$.data_id'), m.visible_ms,
        (SELECT json_extract(i.item, '\$.status.S') FROM ddb_items i
         WHERE json_extract(i.item, '\$.id.S') = json_extract(m.body, '\$.data_id'))
    FROM sqs_messages m WHERE m.queue = 'tycho-messages' AND m.receive_count > 0" >"$TEST_TMP/inflight"
processed_at_kill=$(sql "$SNAP" "SELECT count(*) FROM ddb_items WHERE json_extract(item, '\$.status.S') = 'processed'")
acked=$(wc -l <"$ACKED")
echo "# at the kill: $acked acknowledged, $processed_at_kill processed;" \
    "in flight: $(grep -c '|pending$' "$TEST_TMP/inflight") with their item pending," \
    "$(grep -c '|processed$' "$TEST_TMP/inflight") processed but not deleted yet"
check "messages were in flight at the kill" test -s "$TEST_TMP/inflight"
check "the client was still posting at the kill ($acked acknowledged)" eval '[ "$acked" -gt "$BATCH" ]'

# count_processed DB: how many acknowledged items are processed in DB
count_processed() {
    local ids
    ids=$(sed "s/.*/'&'/" "$ACKED" | paste -sd,)
    sql "$1" "SELECT count(*) FROM ddb_items WHERE json_extract(item, '\$.id.S') IN ($ids)
        AND json_extract(item, '\$.status.S') = 'processed'"
}
# every_processed: GET /get-data/<id> shows each acknowledged item processed
every_processed() {
    local id
    while read -r id; do
        http GET "/get-data/$id"
        if [ "$(jget "$BODY" data.status)" != processed ] || [ -z "$(jget "$BODY" data.processed_at)" ]; then
            echo "  $id: $STATUS $BODY"
            return 1
        fi
    done <"$ACKED"
}
# redelivered: every message in flight at the kill was handled again after
# the restart (the restarted run's log has its data_id), with a new receive
# when its item was still pending, and not before its visibility timeout
# ended (the handler sleeps DELAY before it logs)
redelivered() {
    local id visible status line t delay_ms
    delay_ms=$(awk "BEGIN { print $DELAY * 1000 }")
    while IFS='|' read -r id visible status; do
        line=$(grep -F "\"data_id\":\"$id\"" "$APP_LOG" |
            grep -m1 -E '"msg":"workflow (processed|item already processed or gone)"')
        [ -n "$line" ] || { echo "  $id (in flight at the kill, $status) was not delivered again"; return 1; }
        if [ "$status" = pending ] && [ "$(jget "$line" receive_count)" -lt 2 ]; then
            echo "  $id: processed without a second receive: $line"
            return 1
        fi
        t=$(date -d "$(jget "$line" time)" +%s%3N)
        [ "$t" -ge $((visible + delay_ms)) ] ||
            { echo "  $id handled at $t ms, before its visibility timeout ended ($visible ms)"; return 1; }
    done <"$TEST_TMP/inflight"
}

app_start "$DATA" "$ROUTES" || exit 1
for ((i = 0; i < 300; i++)); do
    [ "$(count_processed "$DB" 2>/dev/null)" = "$acked" ] && break
    sleep 0.1
done
check "every acknowledged item reached processed, with processed_at (GET /get-data)" every_processed
for ((i = 0; i < 100; i++)); do
    left=$(sql "$DB" "SELECT count(*) FROM sqs_messages" 2>/dev/null)
    [ "$left" = 0 ] && break
    sleep 0.1
done
check "the queue and its dead-letter queue end empty ($left left)" eval '[ "$left" = 0 ]'
check "tycho stops cleanly after the restart" app_stop
APP_PID=
check "every message in flight at the kill was delivered again after its visibility timeout" redelivered
# Exactly once: the items processed after the restart plus those processed
# before the kill are all the processed items there are.
processed_after=$(grep -c '"msg":"workflow processed"' "$APP_LOG")
items=$(sql "$DB" "SELECT count(*) FROM ddb_items WHERE json_extract(item, '\$.status.S') = 'processed'")
check "each item processed once ($processed_at_kill before the kill + $processed_after after = $items)" \
    eval '[ $((processed_at_kill + processed_after)) = "$items" ]'
check "PRAGMA integrity_check: ok" eval '[ "$(sql "$DB" "PRAGMA integrity_check")" = ok ]'
finish
