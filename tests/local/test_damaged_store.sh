#!/usr/bin/env bash
# A store file with a damaged page, as a bad disk sector or a partial copy
# leaves it: the reference app runs on the local backend and sends a message;
# while tycho is stopped, the page of the index by which the sweep and every
# receive find the messages past their retention period
# (sqs_messages_expiry) is overwritten with garbage; tycho starts again (the
# schema page is intact). Checked: the
# first housekeeping run (1 s after start) logs one warning carrying SQLite's
# reason, the data file's path and what to do (stop tycho, move the file
# aside); a request that reads the page answers with the same reason, file
# and advice; the server keeps running. The same with the page of the TTL
# index of the DynamoDB items (ddb_items_ttl), which the sweep reads to find
# the expired items (it reads no other item's page: a damaged one is met by
# the request that reads it, as above).
# The checks below are single-quoted on purpose: `check` evals them.
# shellcheck disable=SC2016
set -uo pipefail
: "${TYCHO_SRC:?run through ctest (TYCHO_BIN, TYCHO_SRC, TYCHO_BUILD)}" "${TYCHO_BIN:?}" "${TYCHO_BUILD:?}"
# shellcheck source=tests/aws/lib.sh
. "$TYCHO_SRC/tests/aws/lib.sh"
# shellcheck source=tests/local/app.sh
. "$TYCHO_SRC/tests/local/app.sh"
app_clean_env
export SQS_CONSUMER=off # the message stays on its queue, in the page damaged below

DATA=$TEST_TMP/data
DB=$DATA/local-aws.sqlite3
cleanup() {
    [ -n "${APP_PID:-}" ] && kill -KILL "$APP_PID" 2>/dev/null
    rm -rf "$TEST_TMP"
}
trap cleanup EXIT

app_start "$DATA" || exit 1
http POST /send-message '{"content": {"n": 1}}'
check "a message is sent ($STATUS)" eval '[ "$STATUS" = 202 ]'
check "tycho stops cleanly" app_stop
APP_PID=

# damage DB TABLE: garbage over TABLE's (first) page. tycho folds the WAL
# into the file when it stops: the page is in the file.
damage() {
    local db=$1 page_size root
    page_size=$(sql "$db" "PRAGMA page_size")
    root=$(sql "$db" "SELECT rootpage FROM sqlite_master WHERE name = '$2'")
    check "$2 has its own page ($root of $page_size bytes)" eval '[ "$root" -gt 1 ]'
    head -c "$page_size" /dev/urandom |
        dd of="$db" bs="$page_size" seek=$((root - 1)) conv=notrunc status=none
    check "the file is damaged" eval '[ "$(sql "$db" "PRAGMA integrity_check" 2>&1)" != ok ]'
}
damage "$DB" sqs_messages_expiry

advice="it is damaged: stop tycho, then restore it from a backup, or move it (with its -wal and -shm files) aside"
app_start "$DATA" || exit 1
warned() { grep -q '"msg":"local backend: housekeeping failed"' "$APP_LOG"; }
check "housekeeping fails and says so" wait_until 5 warned
line=$(grep -m1 '"msg":"local backend: housekeeping failed"' "$APP_LOG")
error=$(jget "$line" error)
echo "  log: $error"
check "the log line carries SQLite's reason" eval '[[ $error == *"database disk image is malformed"* ]]'
check "the log line names the data file" eval '[[ $error == "$DB: "* ]]'
check "the log line says what to do" eval '[[ $error == *"$advice"* ]]'
check "the log line counts the failures" eval '[ "$(jget "$line" failures)" = 1 ] && [ "$(jget "$line" failures_not_logged)" = 0 ]'

http GET "/receive-messages?max=1&wait=0"
echo "  request: $STATUS $BODY"
check "a request that reads the damaged page fails with a 5xx ($STATUS)" eval '[ "${STATUS:0:1}" = 5 ]'
check "its error carries SQLite's reason" eval '[[ $BODY == *"database disk image is malformed"* ]]'
check "its error names the data file" eval '[[ $BODY == *"$DB"* ]]'
check "its error says what to do" eval '[[ $BODY == *"$advice"* ]]'
check "tycho is still running" kill -0 "$APP_PID"
check "one housekeeping line so far" eval '[ "$(grep -c "housekeeping failed" "$APP_LOG")" = 1 ]'
check "tycho stops" app_stop
APP_PID=

# The TTL index of the items: the sweep's search of it meets the damage too
# (it must not take an error for the end of the rows).
DATA=$TEST_TMP/data2
DB=$DATA/local-aws.sqlite3
app_start "$DATA" || exit 1
http POST /save-data '{"user_id": "damaged", "n": 1}'
check "an item is saved ($STATUS)" eval '[ "$STATUS" = 201 ]'
check "tycho stops cleanly" app_stop
APP_PID=
damage "$DB" ddb_items_ttl
app_start "$DATA" || exit 1
check "housekeeping fails on the TTL index and says so" wait_until 5 warned
error=$(jget "$(grep -m1 '"msg":"local backend: housekeeping failed"' "$APP_LOG")" error)
echo "  log: $error"
check "the log line names the file, the reason and what to do" \
    eval '[[ $error == "$DB: database disk image is malformed; $advice"* ]]'
check "tycho stops" app_stop
APP_PID=
finish
