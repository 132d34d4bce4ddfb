#!/usr/bin/env bash
# The local backend's DynamoDB TTL sweep through a real tycho serve (routes:
# tests/awslua, whose POST /aws makes any DynamoDB call). The sweep runs 1 s
# after start and then every minute, so each check restarts tycho and waits
# for the sweep to empty a marker table (one expired item) before it looks:
#   - expired items are deleted (1100, in steps of 100), the others
#     stay: no TTL attribute, a TTL that is not a Number, one in the future,
#     one more than five years past (DescribeTable's ItemCount counts the
#     rows, expired or not; Scan shows what reads see);
#   - TTL disabled: nothing is deleted; enabled on another attribute: the
#     items are swept by that attribute, the ones before it re-read;
#   - a store of the layout before the TTL column (version 2: made here by
#     dropping the column and its index) is upgraded at start, logged once,
#     keeps every item, and its sweep works.
# The checks below are single-quoted on purpose: `check` evals them.
# shellcheck disable=SC2016,SC2034
set -uo pipefail
: "${TYCHO_SRC:?run through ctest (TYCHO_BIN, TYCHO_SRC, TYCHO_BUILD)}" "${TYCHO_BIN:?}" "${TYCHO_BUILD:?}"
# shellcheck source=tests/aws/lib.sh
. "$TYCHO_SRC/tests/aws/lib.sh"
# shellcheck source=tests/local/app.sh
. "$TYCHO_SRC/tests/local/app.sh"
app_clean_env
export TEST_CONSUMER=off
DATA=$TEST_TMP/data
DB=$DATA/local-aws.sqlite3
T=ttl-sweep
cleanup() {
    [ -n "${APP_PID:-}" ] && kill -KILL "$APP_PID" 2>/dev/null
    rm -rf "$TEST_TMP"
}
trap cleanup EXIT

# ddb OP PARAMS: one DynamoDB call; BODY is the route's answer ({ok, result | error})
ddb() { http POST /aws "{\"service\":\"dynamodb\",\"target\":\"DynamoDB_20120810.$1\",\"params\":$2}"; }
ok() { [ "$STATUS" = 200 ] && [ "$(jget "$BODY" ok)" = True ]; }
now() { date +%s; }

create_table() { # NAME [TTL_ATTR]
    ddb CreateTable "{\"TableName\":\"$1\",\"AttributeDefinitions\":[{\"AttributeName\":\"id\",\"AttributeType\":\"S\"}],\"KeySchema\":[{\"AttributeName\":\"id\",\"KeyType\":\"HASH\"}],\"BillingMode\":\"PAY_PER_REQUEST\"}"
    check "table $1 created" ok
    [ $# -lt 2 ] || ttl "$1" true "$2"
}
ttl() { # TABLE true|false ATTR
    ddb UpdateTimeToLive "{\"TableName\":\"$1\",\"TimeToLiveSpecification\":{\"Enabled\":$2,\"AttributeName\":\"$3\"}}"
    check "TTL of $1: enabled $2 on $3" ok
}
# put PREFIX N ATTRS: N items "<PREFIX><i>" of $T with ATTRS (',"exp":{"N":"1"}' or ''), 25 a batch
put() {
    local i j items
    for ((i = 0; i < $2; i += 25)); do
        items=
        for ((j = i; j < $2 && j < i + 25; j++)); do
            items+="${items:+,}{\"PutRequest\":{\"Item\":{\"id\":{\"S\":\"$1$j\"}$3}}}"
        done
        ddb BatchWriteItem "{\"RequestItems\":{\"$T\":[$items]}}"
        ok || { echo "BatchWriteItem: $STATUS $BODY"; return 1; }
    done
}
exp_in() { echo ",\"exp\":{\"N\":\"$(($(now) + $1))\"}"; } # a TTL $1 s from now
rows() { # the table's rows, expired or not (ItemCount)
    ddb DescribeTable "{\"TableName\":\"${1:-$T}\"}"
    jget "$BODY" result.Table.ItemCount
}
visible() { # what reads see: the items of $T whose id starts with $1
    ddb Scan "{\"TableName\":\"$T\",\"Select\":\"COUNT\",\"FilterExpression\":\"begins_with(id, :p)\",\"ExpressionAttributeValues\":{\":p\":{\"S\":\"$1\"}}}"
    jget "$BODY" result.Count
}
# start: tycho serve on $DATA; STARTED: when (ns)
start() {
    app_start "$DATA" tests/awslua/routes || exit 1
    STARTED=$(date +%s%N)
}
# An expired item in the marker table: a sweep that has run deleted it. Put
# once the running tycho's first sweep (1 s after its start) is past, so
# that only the next tycho's first sweep can delete it: were it put before,
# this tycho could delete it on its way out, and the next one's first sweep
# would come while the items of a check are being put.
marker() {
    while (($(date +%s%N) - STARTED < 2000000000)); do sleep 0.1; done
    ddb PutItem "{\"TableName\":\"ttl-marker\",\"Item\":{\"id\":{\"S\":\"m\"},\"exp\":{\"N\":\"$(($(now) - 10))\"}}}"
    check "marker put" ok
}
marker_gone() { [ "$(rows ttl-marker)" = 0 ]; }
# restart: tycho again, then until its first sweep has run (the next one is
# a minute later: each phase below takes seconds)
restart() {
    marker
    check "tycho stops" app_stop
    APP_PID=
    start
    check "the sweep ran" wait_until 10 marker_gone
}

start
create_table ttl-marker exp
create_table "$T" exp
restart # so that the sweep after start has run before the items are put

echo "# expired items go, the others stay"
check "1100 items expired a minute ago" put due 1100 "$(exp_in -60)"
check "30 items that expire in an hour" put later 30 "$(exp_in 3600)"
check "10 items without TTL" put none 10 ""
check "10 items with a TTL that is a string" put string 10 ',"exp":{"S":"1"}'
check "10 items with a TTL more than 5 years past" put ancient 10 ',"exp":{"N":"1000"}'
check "1160 rows ($(rows))" eval '[ "$(rows)" = 1160 ]'
check "reads hide the expired before the sweep" eval '[ "$(visible "")" = 60 ]'
restart
check "the 1100 expired were deleted: 60 rows left" eval '[ "$(rows)" = 60 ]'
for kind in later:30 none:10 string:10 ancient:10; do
    check "the ${kind%:*} items stay (${kind#*:})" eval '[ "$(visible "${kind%:*}")" = "${kind#*:}" ]'
done

echo "# TTL disabled, then on another attribute"
ttl "$T" false exp
check "items expired under exp and a" put xa 5 "$(exp_in -60),\"a\":{\"N\":\"$(($(now) - 60))\"}"
check "items expired under b" put xb 5 ",\"b\":{\"N\":\"$(($(now) - 60))\"}"
restart
check "TTL disabled: nothing deleted (70 rows)" eval '[ "$(rows)" = 70 ]'
check "and all read" eval '[ "$(visible xa)" = 5 ] && [ "$(visible xb)" = 5 ]'
ttl "$T" true b
restart
check "TTL on b: the b items deleted" eval '[ "$(visible xb)" = 0 ] && [ "$(rows)" = 65 ]'
check "the a items, expired under exp and a, stay" eval '[ "$(visible xa)" = 5 ]'
ttl "$T" false b
ttl "$T" true a
restart
check "TTL on a: the a items deleted" eval '[ "$(visible xa)" = 0 ] && [ "$(rows)" = 60 ]'
ttl "$T" false a
ttl "$T" true exp

echo "# a store of layout version 2 is upgraded"
check "20 items that expire in 3 s" put up-due 20 "$(exp_in 3)"
check "20 items that expire in an hour" put up-later 20 "$(exp_in 3600)"
marker
check "tycho stops" app_stop
APP_PID=
sql "$DB" "DROP INDEX ddb_items_ttl; ALTER TABLE ddb_items DROP COLUMN ttl; UPDATE meta SET v = '2' WHERE k = 'schema'"
check "the file is of version 2" eval '[ "$(sql "$DB" "SELECT v FROM meta WHERE k = '"'schema'"'")" = 2 ]'
check "with the items table of version 2" eval '[ "$(sql "$DB" "SELECT sql FROM sqlite_master WHERE name = '"'ddb_items'"'")" = "CREATE TABLE ddb_items(tbl TEXT NOT NULL, pk BLOB NOT NULL, sk BLOB NOT NULL, item TEXT NOT NULL, size INTEGER NOT NULL, PRIMARY KEY(tbl, pk, sk)) WITHOUT ROWID" ]'
# the items that stay, as stored
kept() { sql "$DB" "SELECT group_concat(item, ' ') FROM (SELECT item FROM ddb_items WHERE tbl = '$T' AND item NOT LIKE '%up-due%' ORDER BY pk)"; }
rows_before=$(sql "$DB" "SELECT COUNT(*) FROM ddb_items WHERE tbl = '$T'")
kept_before=$(kept)
sleep 3 # the up-due items expire
start
check "the sweep ran" wait_until 10 marker_gone
upgraded() { grep -c '"msg":"local backend: store upgraded to this tycho'"'"'s layout"' "$APP_LOG"; }
line=$(grep -m1 '"msg":"local backend: store upgraded' "$APP_LOG")
echo "  log: $line"
check "the upgrade is logged once" eval '[ "$(upgraded)" = 1 ] && [ "$(jget "$line" from_version)" = 2 ]'
check "the file is of version 3" eval '[ "$(sql "$DB" "SELECT v FROM meta WHERE k = '"'schema'"'")" = 3 ]'
check "the expired items were deleted" eval '[ "$(visible up-due)" = 0 ] && [ "$(rows)" = $((rows_before - 20)) ]'
check "the others stay" eval '[ "$(visible up-later)" = 20 ] && [ "$(visible later)" = 30 ] && [ "$(visible none)" = 10 ]'
check "as they were, byte for byte" eval '[ "$(kept)" = "$kept_before" ]'
check "no housekeeping failed" eval '! grep -q "housekeeping failed" "$APP_LOG"'
restart
check "the next start does not upgrade again" eval '[ "$(upgraded)" = 0 ]'
check "tycho stops" app_stop
APP_PID=
finish
