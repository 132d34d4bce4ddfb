#!/usr/bin/env bash
# The local backend's data directory: one tycho at a time (a second `serve` or
# `spec` on the same --data-dir exits 2 naming the first one's pid, as its long
# polls would not be woken by the first one's sends), and a data directory that cannot be
# used is reported once, under the flag or variable that gave it, with why; a
# table stored with other keys is reported whole, however long its names.
set -euo pipefail
: "${TYCHO_BIN:?}" "${TYCHO_SRC:?}"
# shellcheck source=tests/lib/wait.sh
. "$TYCHO_SRC/tests/lib/wait.sh"
work=$(mktemp -d)
pid=""
cleanup() { [ -n "$pid" ] && kill "$pid" 2>/dev/null; wait 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT
fail() { echo "FAIL: $*"; exit 1; }

serve() { # serve ARGS... -> rc, stderr in $work/err
  timeout 10 "$TYCHO_BIN" serve --routes "$TYCHO_SRC/routes" --listen 127.0.0.1:0 \
    --admin-listen 127.0.0.1:0 --workers 1 "$@" > "$work/out" 2> "$work/err"
}
expect_refused() { # expect_refused WANT ARGS...: exit 2, one stderr line "tycho: WANT"
  local want=$1 rc=0
  shift
  serve "$@" || rc=$?
  [ "$rc" = 2 ] && [ "$(wc -l < "$work/err")" = 1 ] && grep -qxF "tycho: $want" "$work/err" \
    || fail "want exit 2 and 'tycho: $want', got rc=$rc: $(cat "$work/err")"
  echo "ok: $(cat "$work/err")"
}

"$TYCHO_BIN" serve --routes "$TYCHO_SRC/routes" --listen 127.0.0.1:0 --admin-listen 127.0.0.1:0 \
  --workers 1 --data-dir "$work/data" > "$work/first.log" 2>&1 &
pid=$!
wait_until 30 grep -q '"listening"' "$work/first.log" || true
grep -q '"listening"' "$work/first.log" || fail "the first tycho did not start: $(cat "$work/first.log")"

expect_refused "--data-dir $work/data: in use by another tycho (pid $pid)" --data-dir "$work/data"
TYCHO_DATA_DIR=$work/data expect_refused "TYCHO_DATA_DIR $work/data: in use by another tycho (pid $pid)"
# `tycho spec` shares the rule (README, LOCAL.md): exit 2, naming the first one
rc=0
(cd "$work" && TYCHO_DATA_DIR=$work/data timeout 10 "$TYCHO_BIN" spec > "$work/out" 2> "$work/err") || rc=$?
[ "$rc" = 2 ] && grep -qF "TYCHO_DATA_DIR $work/data: in use by another tycho (pid $pid)" "$work/err" \
  || fail "tycho spec on a data directory in use: want exit 2, got rc=$rc: $(cat "$work/err")"
echo "ok: spec: $(head -1 "$work/err")"

# once the first one is gone the directory is free again (the kernel drops the
# lock, even after kill -9)
kill -9 "$pid"; wait "$pid" 2>/dev/null || true; pid=""
"$TYCHO_BIN" serve --routes "$TYCHO_SRC/routes" --listen 127.0.0.1:0 --admin-listen 127.0.0.1:0 \
  --workers 1 --data-dir "$work/data" > "$work/second.log" 2>&1 &
pid=$!
wait_until 30 grep -q '"listening"' "$work/second.log" || true
grep -q '"listening"' "$work/second.log" || fail "after the first tycho died: $(cat "$work/second.log")"
kill -TERM "$pid"; wait "$pid" || true; pid=""

: > "$work/afile"
expect_refused "--data-dir $work/afile: not a directory" --data-dir "$work/afile"
TYCHO_DATA_DIR=$work/afile expect_refused "TYCHO_DATA_DIR $work/afile: not a directory"
expect_refused "--data-dir $work/afile/sub: cannot create it: Not a directory" \
  --data-dir "$work/afile/sub"
if [ "$(id -u)" != 0 ]; then # root may write anywhere
  mkdir -m 500 "$work/ro"
  serve --data-dir "$work/ro" && fail "a read-only data directory was accepted"
  grep -q "^tycho: --data-dir $work/ro: .*Permission denied" "$work/err" \
    || fail "read-only data directory: $(cat "$work/err")"
fi

# A table stored with other keys: the line gives both key schemas and the
# ways out, whole even with long names and a long path (it was cut at 300
# characters, losing "or use another TYCHO_DATA_DIR").
deep=$work/a/data/directory/deep/enough/to/make/the/line/long
t=an-application-table-with-a-rather-long-name
TYCHO_LOCAL_TABLES="$t:pk=customer_identifier/S:sk=event_timestamp_iso/S" "$TYCHO_BIN" serve \
  --routes "$TYCHO_SRC/routes" --listen 127.0.0.1:0 --admin-listen 127.0.0.1:0 --workers 1 \
  --data-dir "$deep" > "$work/third.log" 2>&1 &
pid=$!
wait_until 30 grep -q '"listening"' "$work/third.log" || true
kill -TERM "$pid"; wait "$pid" || true; pid=""
[ -f "$deep/local-aws.sqlite3" ] || fail "no store was created in $deep: $(cat "$work/third.log")"
stored=pk=customer_identifier/S:sk=event_timestamp_iso/S
TYCHO_LOCAL_TABLES="$t:pk=customer_identifier/N:sk=event_timestamp_iso/S" expect_refused \
  "--data-dir $deep: TYCHO_LOCAL_TABLES: table $t: stored with keys $stored, configured with pk=customer_identifier/N:sk=event_timestamp_iso/S; to keep its items, configure $stored; to start it anew as configured, delete the table (DeleteTable) or use another TYCHO_DATA_DIR" \
  --data-dir "$deep"
