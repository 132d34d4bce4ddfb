#!/usr/bin/env bash
# CLI contract of the real binary: --help of every subcommand, bad settings
# stop start-up with exit 2 and one line naming where the value came from
# (the flag, else the variable), a flag replaces its variable, the spellings
# all settings share, the admin listener is never the public one, unknown
# commands and options.
set -uo pipefail
BIN=${TYCHO_BIN:-$(dirname "$0")/../../build/tycho}
ROUTES="$(cd "$(dirname "$0")" && pwd)/routes"
fails=0
ok() { echo "ok   $*"; }
bad() { echo "FAIL $*"; fails=$((fails + 1)); }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# --- help ---------------------------------------------------------------------
for args in "--help" "help" "-h" "serve --help" "serve -h" "check --help" "spec --help"; do
  # shellcheck disable=SC2086
  out=$(timeout 10 "$BIN" $args 2>&1); rc=$?
  if [ $rc -eq 0 ] && grep -qi "usage" <<<"$out"; then ok "tycho $args"; else bad "tycho $args: rc=$rc: $(head -c 200 <<<"$out")"; fi
done
out=$("$BIN" serve --help)
for s in TYCHO_LISTEN TYCHO_ADMIN_LISTEN TYCHO_WORKERS TYCHO_MAX_HEADER_BYTES TYCHO_MAX_URI_BYTES \
         TYCHO_MAX_BODY_BYTES TYCHO_HEADER_TIMEOUT TYCHO_BODY_TIMEOUT TYCHO_KEEPALIVE_TIMEOUT \
         TYCHO_SEND_TIMEOUT TYCHO_DRAIN_TIMEOUT TYCHO_MAX_CONNECTIONS; do
  grep -q "$s" <<<"$out" || bad "serve --help does not document $s"
done
out=$("$BIN" version); [[ $out =~ ^tycho\ [0-9]+\.[0-9]+ ]] && ok "version: $out" || bad "version: $out"
# `version` takes no options: --help prints usage or the version, and succeeds
out=$("$BIN" version --help 2>&1); rc=$?
[ $rc -eq 0 ] && { grep -qi usage <<<"$out" || [[ $out =~ ^tycho\ [0-9] ]]; } && ok "tycho version --help" ||
  bad "tycho version --help: rc=$rc $out"
out=$("$BIN" version --bogus 2>&1); rc=$?
[ $rc -eq 2 ] && grep -q "unknown argument '--bogus'" <<<"$out" && ok "tycho version --bogus: exit 2" ||
  bad "tycho version --bogus: want exit 2 and a line naming it, got rc=$rc $out"
"$BIN" >/dev/null 2>&1; rc=$?; [ $rc -eq 2 ] && ok "no command -> 2" || bad "no command: rc=$rc"
out=$("$BIN" frobnicate 2>&1); rc=$?
[ $rc -eq 2 ] && grep -q "unknown command 'frobnicate'" <<<"$out" && ok "unknown command" || bad "unknown command: rc=$rc $out"

# --- bad settings: exit 2, exactly one line on stderr, naming the setting -------
# expect_bad "<what the line starts with>" env... -- args...
expect_bad() {
  local want=$1; shift
  local envs=() args=()
  while [ $# -gt 0 ] && [ "$1" != "--" ]; do envs+=("$1"); shift; done
  [ $# -gt 0 ] && shift
  args=("$@")
  env -u TYCHO_LISTEN "${envs[@]}" timeout 10 "$BIN" serve --routes "$ROUTES" "${args[@]}" \
    >"$tmp/out" 2>"$tmp/err"
  local rc=$? lines
  lines=$(wc -l <"$tmp/err")
  if [ $rc -eq 2 ] && [ "$lines" -eq 1 ] && grep -q "^tycho: $want" "$tmp/err" && [ ! -s "$tmp/out" ]; then
    ok "exit 2: $(cat "$tmp/err")"
  else
    bad "want exit 2 + one line 'tycho: $want...'; got rc=$rc, $lines lines: $(head -c 300 "$tmp/err") stdout: $(head -c 200 "$tmp/out")"
  fi
}
expect_bad "TYCHO_LISTEN: port out of range: 99999" TYCHO_LISTEN=127.0.0.1:99999
expect_bad "--listen: port out of range: 99999" -- --listen 127.0.0.1:99999
expect_bad "TYCHO_LISTEN: not a numeric IP address: example.com" TYCHO_LISTEN=example.com:80
# an address without its port: 'bad port: 127.0.0.1', and '::1' read as host ':'
expect_bad "TYCHO_LISTEN: no port: 127.0.0.1 (host:port, \[ipv6\]:port, :port or port)$" TYCHO_LISTEN=127.0.0.1
expect_bad "--admin-listen: no port: ::1 (host:port" -- --admin-listen ::1
expect_bad "TYCHO_WORKERS: out of range" TYCHO_WORKERS=0
expect_bad "TYCHO_WORKERS: not a whole number: many" TYCHO_WORKERS=many
expect_bad "TYCHO_MAX_HEADER_BYTES: out of range \[256, 1048576\] bytes: 10$" TYCHO_MAX_HEADER_BYTES=10
expect_bad "TYCHO_MAX_URI_BYTES: not a size: 8q" TYCHO_MAX_URI_BYTES=8q
expect_bad "TYCHO_MAX_URI_BYTES: out of range \[16, 1048576\] bytes: 2097152 (2MiB)" TYCHO_MAX_URI_BYTES=2MiB
expect_bad "TYCHO_MAX_BODY_BYTES: not a size: -1" TYCHO_MAX_BODY_BYTES=-1
# a misspelt variable would leave its setting at the default without a word
expect_bad "TYCHO_WORKER: tycho reads no such variable; did you mean TYCHO_WORKERS?$" TYCHO_WORKER=2
expect_bad "tycho_drain_timeout: tycho reads no such variable; did you mean TYCHO_DRAIN_TIMEOUT?$" \
  tycho_drain_timeout=5
# the target is part of the request line the header limit counts: 431 would always come first
expect_bad "TYCHO_MAX_URI_BYTES: 32768 bytes can never be reached: .* (TYCHO_MAX_HEADER_BYTES)" \
  TYCHO_MAX_URI_BYTES=32KiB
expect_bad "--max-uri-bytes: 20000 bytes can never be reached: .* 16384 bytes in all (--max-header-bytes)" \
  -- --max-header-bytes 16KiB --max-uri-bytes 20000
expect_bad "--lua-memory-limit: not a size: 12X" -- --lua-memory-limit 12X
expect_bad "TYCHO_MAX_CONNECTIONS: out of range" TYCHO_MAX_CONNECTIONS=0
expect_bad "TYCHO_HEADER_TIMEOUT: not a duration: 10x" TYCHO_HEADER_TIMEOUT=10x
expect_bad "--header-timeout: out of range \[0.01, 3600\] seconds: 7200 (2h)" -- --header-timeout 2h
expect_bad "TYCHO_BODY_TIMEOUT: out of range" TYCHO_BODY_TIMEOUT=0
expect_bad "TYCHO_KEEPALIVE_TIMEOUT: not a duration: forever" TYCHO_KEEPALIVE_TIMEOUT=forever
expect_bad "TYCHO_DRAIN_TIMEOUT: not a duration: -1" TYCHO_DRAIN_TIMEOUT=-1
# numbers are decimal everywhere: strtod took hex and exponents (0x10 was 16)
expect_bad "TYCHO_WORKERS: not a whole number: 0x10 (decimal digits, e.g. 16)$" TYCHO_WORKERS=0x10
expect_bad "--workers: not a whole number: 1e1 " -- --workers 1e1
expect_bad "TYCHO_DRAIN_TIMEOUT: not a duration: 0x10 (seconds, or with a unit" TYCHO_DRAIN_TIMEOUT=0x10
# (read once the listeners are bound, as the other SQS settings below: own ports)
expect_bad "TYCHO_SQS_DEPTH_INTERVAL: expected a duration from 1ms to 24h .*\"1e3\"$" \
  TYCHO_SQS_DEPTH_INTERVAL=1e3 -- --listen 127.0.0.1:0 --admin-listen 127.0.0.1:0
expect_bad "OTEL_BSP_SCHEDULE_DELAY: not a duration between 1 ms and 3600000 ms: 0x10 (decimal milliseconds" \
  OTEL_EXPORTER_OTLP_ENDPOINT=http://127.0.0.1:1 OTEL_BSP_SCHEDULE_DELAY=0x10
expect_bad "TYCHO_REMOTE_WRITE_INTERVAL: not a duration between 100 ms and 86400000 ms: 1e3 (decimal seconds" \
  TYCHO_REMOTE_WRITE_URL=http://127.0.0.1:1/api/v1/write TYCHO_REMOTE_WRITE_INTERVAL=1e3
expect_bad "TYCHO_LOG_LEVEL: expected debug, info, warn or error: loud" TYCHO_LOG_LEVEL=loud
expect_bad "TYCHO_RELOAD: expected on or off: sometimes" TYCHO_RELOAD=sometimes
expect_bad "TYCHO_TRUSTED_PROXIES: bad prefix length" TYCHO_TRUSTED_PROXIES=10.0.0.0/40
expect_bad "TYCHO_AWS_BACKEND: expected local or aws: s3" TYCHO_AWS_BACKEND=s3
expect_bad "--reload: expected on or off: sometimes" -- --reload=sometimes
# --no-reload=on read as "reload on" but turned reload off
expect_bad "--no-reload: takes no value (--reload takes on or off): --no-reload=on$" -- --no-reload=on
expect_bad "--lua-dir: not tycho's Lua directory (no tycho/init.lua in it): /nonexistent" \
  -- --lua-dir /nonexistent
expect_bad "TYCHO_LUA_DIR: not tycho's Lua directory" TYCHO_LUA_DIR="$ROUTES"
expect_bad "--routes: not a directory: $tmp/none" TYCHO_ROUTES="$ROUTES" -- --routes "$tmp/none"
expect_bad "--data-dir /proc/tycho: cannot create it: " -- --listen 127.0.0.1:0 --admin-listen 127.0.0.1:0 \
  --data-dir /proc/tycho
expect_bad 'TYCHO_TRACES_STDOUT: expected on or off, got "maybe"' TYCHO_TRACES_STDOUT=maybe
expect_bad "TYCHO_SQS_DEPTH_INTERVAL: expected a duration from 1ms to 24h" TYCHO_SQS_DEPTH_INTERVAL=0 \
  -- --listen 127.0.0.1:0 --admin-listen 127.0.0.1:0
expect_bad 'TYCHO_LOCAL_AUTO_CREATE: expected on or off, got "maybe"' TYCHO_LOCAL_AUTO_CREATE=maybe \
  -- --listen 127.0.0.1:0 --admin-listen 127.0.0.1:0 --data-dir "$tmp/data"
# a value too long for its reader: one wording, whichever module reads it
long=$(printf 'x%.0s' $(seq 100))
expect_bad 'TYCHO_TRACES_STDOUT: too long (at most 15 bytes)$' TYCHO_TRACES_STDOUT="$long"
expect_bad 'TYCHO_SQS_DEPTH_INTERVAL: too long (at most 63 bytes)$' TYCHO_SQS_DEPTH_INTERVAL="$long" \
  -- --listen 127.0.0.1:0 --admin-listen 127.0.0.1:0
expect_bad 'TYCHO_LOCAL_AUTO_CREATE: too long (at most 31 bytes)$' TYCHO_LOCAL_AUTO_CREATE="$long" \
  -- --listen 127.0.0.1:0 --admin-listen 127.0.0.1:0 --data-dir "$tmp/data"
expect_bad 'TYCHO_LOCAL_ACCOUNT: too long (at most 31 bytes)$' TYCHO_LOCAL_ACCOUNT="$long" \
  -- --listen 127.0.0.1:0 --admin-listen 127.0.0.1:0 --data-dir "$tmp/data"
# the local backend's queue/table specs: the setting, the key as written, its
# range; not prefixed by the data directory, which is left uncreated
expect_bad "TYCHO_LOCAL_QUEUES: queue q1: visibility=99999: out of range (0-43200 seconds)$" \
  TYCHO_LOCAL_QUEUES=q1:visibility=99999 -- --listen 127.0.0.1:0 --admin-listen 127.0.0.1:0 \
  --data-dir "$tmp/never"
expect_bad "TYCHO_LOCAL_TABLES: table tt2: ttl=other: ttl is given twice (once per table)$" \
  TYCHO_LOCAL_TABLES=tt2:pk=id:ttl=ttl:ttl=other -- --listen 127.0.0.1:0 \
  --admin-listen 127.0.0.1:0 --data-dir "$tmp/never"
[ ! -e "$tmp/never" ] && ok "a bad TYCHO_LOCAL_QUEUES/TABLES creates no data directory" ||
  bad "a bad TYCHO_LOCAL_QUEUES/TABLES created $tmp/never"
expect_bad "unknown option: --frob" -- --frob
# a folder as tycho check takes it: not an 'unknown option'
expect_bad "unexpected argument: $tmp (tycho serve takes options only; a routes folder is --routes $tmp)$" \
  -- "$tmp"
expect_bad "--reload: expected on or off: maybe$" -- --reload maybe
expect_bad "--workers: missing value" -- --workers
expect_bad "--admin-listen: the admin listener must not share the public address" \
  -- --listen 127.0.0.1:18181 --admin-listen 127.0.0.1:18181
expect_bad "--admin-listen: the admin listener must not share the public address" \
  -- --listen 0.0.0.0:18182 --admin-listen 127.0.0.1:18182
expect_bad "TYCHO_ADMIN_LISTEN: the admin listener must not share the public address" \
  TYCHO_LISTEN=127.0.0.1:18183 TYCHO_ADMIN_LISTEN=localhost:18183
# one address however it is spelled, IPv6 written as typed ([::]:port), both settings named
expect_bad "--admin-listen: the admin listener must not share the public address \[::ffff:127.0.0.1\]:18184 (--listen: 127.0.0.1:18184)$" \
  -- --listen 127.0.0.1:18184 --admin-listen '[::ffff:127.0.0.1]:18184'
expect_bad "--admin-listen: the admin listener must not share the public address \[::0\]:18185 (--listen: 127.0.0.1:18185)$" \
  -- --listen 127.0.0.1:18185 --admin-listen '[::0]:18185'
expect_bad "--admin-listen: the admin listener must not share the public address \[::\]:18186 (--listen: \[::1\]:18186)$" \
  -- --listen '[::1]:18186' --admin-listen '[::]:18186'
# a flag wins over a good environment value, and its own error names the flag
expect_bad "--max-body-bytes: not a size: -5" TYCHO_MAX_BODY_BYTES=10 -- --max-body-bytes -5
# a flag replaces its variable, which is not read: a bad one does not stop start-up
expect_bad "--workers: out of range" TYCHO_LISTEN=127.0.0.1:99999 TYCHO_RELOAD=maybe -- \
  --listen 127.0.0.1:0 --no-reload --workers 0

# tycho check takes one routes folder: a second one was checked alone, the first passed over
expect_check_usage() {
  local want=$1; shift
  timeout 30 "$BIN" check "$@" >"$tmp/out" 2>"$tmp/err"
  local rc=$?
  if [ $rc -eq 2 ] && [ "$(cat "$tmp/err")" = "$want" ] && [ ! -s "$tmp/out" ]; then
    ok "check $*: exit 2: $want"
  else
    bad "check $*: want exit 2 and '$want'; got rc=$rc: $(head -c 300 "$tmp/err") stdout: $(head -c 200 "$tmp/out")"
  fi
}
expect_check_usage "tycho check: one routes folder at a time: given $ROUTES and $tmp (run it once for each)" \
  "$ROUTES" "$tmp"
expect_check_usage "tycho check: one routes folder at a time: given $tmp and --routes $ROUTES" \
  --routes "$ROUTES" "$tmp"
expect_check_usage "tycho check: one routes folder at a time: given $tmp and --routes $ROUTES" \
  "$tmp" --routes="$ROUTES"
out=$(timeout 30 "$BIN" check "$ROUTES" 2>&1); rc=$?
[ $rc -eq 0 ] && grep -q "ok, " <<<"$out" && ok "check ROUTES_DIR alone" || bad "check $ROUTES: rc=$rc $out"

# a port already in use: start-up fails with one line (not a config error: exit 1 or 2)
/usr/bin/python3 -c '
import socket, time
s = socket.socket(); s.bind(("127.0.0.1", 0)); s.listen(1)
print(s.getsockname()[1], flush=True); time.sleep(30)' >"$tmp/port" &
holder=$!
for _ in $(seq 50); do [ -s "$tmp/port" ] && break; sleep 0.05; done
port=$(cat "$tmp/port")
timeout 10 "$BIN" serve --routes "$ROUTES" --listen "127.0.0.1:$port" --admin-listen 127.0.0.1:0 \
  >"$tmp/out" 2>"$tmp/err"; rc=$?
kill "$holder" 2>/dev/null; wait "$holder" 2>/dev/null
if [ $rc -ne 0 ] && [ "$(wc -l <"$tmp/err")" -eq 1 ] && grep -q "tycho: --listen: cannot bind 127.0.0.1:$port" "$tmp/err"; then
  ok "port in use: rc=$rc $(cat "$tmp/err")"
else
  bad "port in use: rc=$rc $(cat "$tmp/err")"
fi

# Every shared spelling at once starts a server (on/off words, flags standing
# alone, durations and sizes with units); a bad variable its flag replaces is
# not read; TYCHO_TRACES_STDOUT=yes prints spans; blanks around values are
# dropped, an empty variable is unset.
TYCHO_TRACES_STDOUT=' yes ' TYCHO_SQS_DEPTH_INTERVAL=' 2s' TYCHO_LOCAL_AUTO_CREATE='YES ' \
  TYCHO_LOCAL_SYNC= TYCHO_LOCAL_ACCOUNT=' ' TYCHO_RELOAD=maybe \
  TYCHO_LISTEN=127.0.0.1:99999 timeout 60 "$BIN" serve --routes "$ROUTES" --listen 127.0.0.1:0 \
  --admin-listen 127.0.0.1:0 --workers 1 --data-dir "$tmp/data" --header-timeout 2s \
  --handler-timeout 1500ms --lua-memory-limit 64MiB --max-body-bytes 2MiB --reload --access-log \
  >"$tmp/serve.log" 2>&1 &
server=$!
for _ in $(seq 200); do grep -q '"listening"' "$tmp/serve.log" && break; sleep 0.05; done
pub=$(grep -o '"public":"[^"]*"' "$tmp/serve.log" | head -1 | cut -d'"' -f4)
if [ -n "$pub" ] && [ "$(curl -s -o /dev/null -w '%{http_code}' "http://$pub/nope")" = 404 ]; then
  for _ in $(seq 50); do grep -q '"kind":"SERVER"' "$tmp/serve.log" && break; sleep 0.1; done
  grep -q '"kind":"SERVER"' "$tmp/serve.log" && ok "units, on/off words, lone switches: served; spans on stdout" ||
    bad "TYCHO_TRACES_STDOUT=yes printed no span: $(tail -3 "$tmp/serve.log")"
else
  bad "units, on/off words, lone switches: did not serve: $(head -5 "$tmp/serve.log")"
fi
kill "$server" 2>/dev/null; wait "$server" 2>/dev/null

# The admin listener given a port alone stays on loopback (it serves /-/reload
# and /metrics): TYCHO_ADMIN_LISTEN=9091 opened it on every interface.
. "$(dirname "$0")/../lib/ports.sh"
aport=$(tycho_free_port)
TYCHO_ADMIN_LISTEN="$aport" timeout 60 "$BIN" serve --routes "$ROUTES" --listen 127.0.0.1:0 \
  --workers 1 --no-reload --data-dir "$tmp/data-admin" >"$tmp/admin.log" 2>&1 &
server=$!
for _ in $(seq 200); do grep -q '"listening"' "$tmp/admin.log" && break; sleep 0.05; done
admin=$(grep -o '"admin":"[^"]*"' "$tmp/admin.log" | head -1 | cut -d'"' -f4)
code=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$aport/-/healthy")
if [ "$admin" = "127.0.0.1:$aport" ] && [ "$code" = 200 ]; then
  ok "TYCHO_ADMIN_LISTEN=PORT listens on 127.0.0.1:$aport"
else
  bad "TYCHO_ADMIN_LISTEN=PORT: want 127.0.0.1:$aport, got '$admin' (healthy: $code): $(head -3 "$tmp/admin.log")"
fi
# from another address of this host, where there is one, it is not reachable
other=$(hostname -I 2>/dev/null | tr ' ' '\n' | grep -m1 -E '^[0-9]+\.[0-9]+\.[0-9]+\.[0-9]+$' | grep -v '^127\.')
if [ -n "$other" ]; then
  if (exec 3<>"/dev/tcp/$other/$aport") 2>/dev/null; then
    bad "the admin listener answers on $other:$aport"
  else
    ok "the admin listener is not on $other:$aport"
  fi
fi
kill "$server" 2>/dev/null; wait "$server" 2>/dev/null

echo "cli: $fails failures"
[ $fails -eq 0 ]
