#!/usr/bin/env bash
# The reference app on a full disk: `tycho serve --routes routes` keeps its
# local backend (--data-dir) on a 2 MiB tmpfs, mounted in a private mount
# namespace; a filler file then takes every free byte, so SQLite's writes
# fail with SQLITE_FULL. Checked: every write route (POST /save-data,
# /workflow, /send-message, and GET /receive-messages, a write on SQS)
# answers 503 naming "storage full" at once; reads and /health keep
# working; the server keeps running, and restarts after kill -9 (reads
# served, writes refused alike); once the filler is gone, writes succeed
# again; after a clean stop `PRAGMA integrity_check` is ok, every write
# acknowledged with a 2xx is in the database and no refused one left
# anything behind; a restart on the same data serves every acknowledged item.
# The consumer is off (SQS_CONSUMER=off) so acknowledged messages stay on
# the queue to be counted (tests/local/test_kill9_workflow.sh covers it).
# Needs root (or sudo -n) for the mount; without it the test fails.
# The checks below are single-quoted on purpose: `check` evals them.
# shellcheck disable=SC2016,SC2034
set -uo pipefail
: "${TYCHO_SRC:?run through ctest (TYCHO_BIN, TYCHO_SRC, TYCHO_BUILD)}" "${TYCHO_BIN:?}" "${TYCHO_BUILD:?}"

if [ -z "${TYCHO_DISK_FULL_NS:-}" ]; then
    # Run again inside a private mount namespace: the tmpfs is visible to
    # this script and the tycho it starts only, and goes away with them.
    export TYCHO_DISK_FULL_NS=1
    if [ "$(id -u)" -eq 0 ]; then
        unshare --mount --propagation private true 2>/dev/null ||
            { echo "FAIL - cannot create a mount namespace (unshare --mount): CAP_SYS_ADMIN is missing"; exit 1; }
        exec unshare --mount --propagation private bash "$0"
    fi
    if sudo -n true 2>/dev/null; then
        exec sudo -n env TYCHO_DISK_FULL_NS=1 TYCHO_BIN="$TYCHO_BIN" TYCHO_SRC="$TYCHO_SRC" \
            TYCHO_BUILD="$TYCHO_BUILD" TYCHO_SANITIZE="${TYCHO_SANITIZE:-}" \
            ASAN_OPTIONS="${ASAN_OPTIONS:-}" UBSAN_OPTIONS="${UBSAN_OPTIONS:-}" TSAN_OPTIONS="${TSAN_OPTIONS:-}" PATH="$PATH" \
            unshare --mount --propagation private bash "$0"
    fi
    echo "FAIL - this test mounts a small tmpfs in a private mount namespace: run it as root or with passwordless sudo (sudo -n)"
    exit 1
fi

# shellcheck source=tests/aws/lib.sh
. "$TYCHO_SRC/tests/aws/lib.sh"
# shellcheck source=tests/local/app.sh
. "$TYCHO_SRC/tests/local/app.sh"
app_clean_env
export SQS_CONSUMER=off

DATA=$TEST_TMP/data
mkdir -p "$DATA"
cleanup() {
    [ -n "${APP_PID:-}" ] && kill -KILL "$APP_PID" 2>/dev/null
    umount "$DATA" 2>/dev/null
    rm -rf "$TEST_TMP"
}
trap cleanup EXIT
mount -t tmpfs -o size=2m,mode=0755 tycho-disk-full "$DATA" ||
    { echo "FAIL - cannot mount a tmpfs on $DATA"; exit 1; }

ITEMS=()    # ids of the items whose write was acknowledged (2xx)
MESSAGES=() # ids of the messages whose send was acknowledged
# write KIND: one write through the app; records what a 2xx acknowledged
write() {
    case $1 in
    save)
        http POST /save-data "{\"user_id\": \"disk-full\", \"n\": $RANDOM}"
        [ "$STATUS" = 201 ] && ITEMS+=("$(jget "$BODY" id)")
        ;;
    workflow)
        http POST /workflow '{"user_id": "disk-full"}'
        # the item and its message: the consumer is off, both stay
        [ "$STATUS" = 200 ] && ITEMS+=("$(jget "$BODY" data_id)") && MESSAGES+=("$(jget "$BODY" data_id)")
        ;;
    message)
        http POST /send-message "{\"content\": {\"n\": $RANDOM}}"
        [ "$STATUS" = 202 ] && MESSAGES+=("$(jget "$BODY" message_id)")
        ;;
    esac
}
# full_503: the last answer is the clear 503 of a full store
full_503() {
    if [ "$STATUS" != 503 ] || [[ $(jget "$BODY" error) != *"service unavailable"* ]] ||
        [[ $(jget "$BODY" message) != *"storage full"* ]]; then
        echo "  got $STATUS: $BODY"
        return 1
    fi
}
# all_readable: GET /get-data/<id> answers 200 with that item, for every acknowledged id
all_readable() {
    local id
    for id in "${ITEMS[@]}"; do
        http GET "/get-data/$id"
        if [ "$STATUS" != 200 ] || [ "$(jget "$BODY" data.id)" != "$id" ]; then
            echo "  GET /get-data/$id: $STATUS $BODY"
            return 1
        fi
    done
}

app_start "$DATA" || exit 1
for kind in save save workflow message workflow message save; do
    write "$kind"
    check "with room: $kind is acknowledged ($STATUS)" eval '[ "${STATUS:0:1}" = 2 ]'
done

# Take every free byte: dd stops at ENOSPC.
dd if=/dev/zero of="$DATA/filler" bs=64k 2>/dev/null
check "the data dir's filesystem is full" eval '[ "$(df --output=avail -k "$DATA" | tail -1 | tr -d " ")" = 0 ]'

for kind in save workflow message save workflow message; do
    n_items=${#ITEMS[@]} n_messages=${#MESSAGES[@]}
    write "$kind"
    check "disk full: $kind answers 503 storage full" full_503
    check "disk full: $kind acknowledged nothing" eval '[ ${#ITEMS[@]} = "$n_items" ] && [ ${#MESSAGES[@]} = "$n_messages" ]'
done
http GET "/receive-messages?max=1&wait=0"
check "disk full: GET /receive-messages (a write: receive count, visibility) answers 503 storage full" full_503
check "disk full: every acknowledged item is still readable" all_readable
http GET /health
check "disk full: GET /health -> 200 healthy" eval '[ "$STATUS" = 200 ] && [ "$(jget "$BODY" status)" = healthy ]'
check "disk full: tycho is still running" kill -0 "$APP_PID"

# Killed and restarted while the disk is still full: the restart has nothing
# to write (the configured queues and tables are already there), so it
# serves the reads and refuses the writes as before.
app_kill9
check "disk full: tycho restarts on the full data dir" app_start "$DATA"
check "disk full, restarted: every acknowledged item is readable" all_readable
write save
check "disk full, restarted: a write answers 503 storage full" full_503

rm -f "$DATA/filler"
for kind in save workflow message; do
    write "$kind"
    check "space freed: $kind is acknowledged again ($STATUS)" eval '[ "${STATUS:0:1}" = 2 ]'
done
check "space freed: every acknowledged item is readable" all_readable
check "no handler crashed (no traceback in the log)" eval '! grep -q traceback "$APP_LOG"'
check "tycho stops cleanly (exit 0)" app_stop

DB=$DATA/local-aws.sqlite3
check "PRAGMA integrity_check: ok" eval '[ "$(sql "$DB" "PRAGMA integrity_check")" = ok ]'
# present ID TABLE COLUMN: one row of TABLE holds ID in COLUMN
present() {
    [ "$(sql "$DB" "SELECT count(*) FROM $2 WHERE instr($3, '\"$1\"') > 0")" = 1 ] ||
        { echo "  $1 is not in $2"; return 1; }
}
every_item_present() {
    local id
    for id in "${ITEMS[@]}"; do present "$id" ddb_items item || return 1; done
}
every_message_present() {
    local id
    for id in "${MESSAGES[@]}"; do present "$id" sqs_messages body || return 1; done
}
check "every acknowledged item is in the database (${#ITEMS[@]})" every_item_present
check "every acknowledged message is on the queue (${#MESSAGES[@]})" every_message_present
check "the refused writes left no item behind" eval '[ "$(sql "$DB" "SELECT count(*) FROM ddb_items")" = ${#ITEMS[@]} ]'
check "the refused writes left no message behind" eval '[ "$(sql "$DB" "SELECT count(*) FROM sqs_messages")" = ${#MESSAGES[@]} ]'

app_start "$DATA" || exit 1
check "restarted on the same data: every acknowledged item is readable" all_readable
check "restarted: tycho stops cleanly" app_stop
APP_PID=
umount "$DATA"
finish
