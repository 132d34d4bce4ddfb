#!/usr/bin/env bash
# `tycho health` (the container health check): 0 on a 2xx, 1 on anything
# else (404, 503 while draining, nothing listening), 2 on bad arguments.
# Without --url it checks TYCHO_LISTEN's port; URLs are shown redacted.
set -euo pipefail
: "${TYCHO_BIN:?}" "${TYCHO_SRC:?}"
# shellcheck source=tests/lib/wait.sh
. "$TYCHO_SRC/tests/lib/wait.sh"
work=$(mktemp -d)
pid=""
cleanup() { [ -n "$pid" ] && kill "$pid" 2>/dev/null; wait 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT
fail() { echo "FAIL: $*"; exit 1; }

"$TYCHO_BIN" serve --routes "$TYCHO_SRC/routes" --listen 127.0.0.1:0 --admin-listen 127.0.0.1:0 \
  --workers 1 --data-dir "$work/data" > "$work/serve.log" 2>&1 &
pid=$!
wait_until 30 grep -q '"listening"' "$work/serve.log" || true
pub=$(grep -o '"public":"[^"]*"' "$work/serve.log" | head -1 | cut -d'"' -f4)
[ -n "$pub" ] || fail "tycho did not start"

"$TYCHO_BIN" health --url "http://$pub/health" || fail "healthy server: expected exit 0"
set +e
"$TYCHO_BIN" health --url "http://$pub/no-such-route" 2> "$work/err"; rc=$?
[ "$rc" = 1 ] || fail "404: expected exit 1, got $rc"
grep -q "answered 404" "$work/err" || fail "404: message does not say what was answered: $(cat "$work/err")"
# a bad argument: exit 2 and one line saying which
check_refused() { # expected-line args...
  local want=$1; shift
  "$TYCHO_BIN" health "$@" 2> "$work/err"; rc=$?
  [ "$rc" = 2 ] && grep -qxF "$want" "$work/err" \
    || fail "health $*: expected exit 2 and '$want', got rc=$rc: $(cat "$work/err")"
}
check_refused "tycho health: unknown option: --bogus (see tycho health --help)" --bogus
check_refused "tycho health: --url: missing value" --url
for t in 0 abc 5x -1; do
  check_refused "tycho health: --timeout: not a positive duration: $t (seconds, or with a unit: 500ms, 2s)" \
    --url "http://$pub/health" --timeout "$t"
done
"$TYCHO_BIN" health --url "http://$pub/health" --timeout 500ms || fail "--timeout 500ms: expected exit 0"

# no --url: /health on TYCHO_LISTEN's port (what the image's HEALTHCHECK runs),
# at loopback when tycho listens on every address
port=${pub##*:}
for listen in "0.0.0.0:$port" "127.0.0.1:$port" " :$port"; do
  TYCHO_LISTEN=$listen "$TYCHO_BIN" health 2> "$work/err" \
    || fail "TYCHO_LISTEN=$listen: expected exit 0, got $?: $(cat "$work/err")"
done
TYCHO_LISTEN= "$TYCHO_BIN" health --timeout 1 2> "$work/err"; rc=$?
[ "$rc" = 1 ] && grep -q "http://127.0.0.1:8080/health" "$work/err" \
  || fail "TYCHO_LISTEN empty: expected the default 127.0.0.1:8080, got rc=$rc: $(cat "$work/err")"
TYCHO_LISTEN=nope:1 "$TYCHO_BIN" health 2> "$work/err"; rc=$?
[ "$rc" = 2 ] && grep -q "^tycho health: TYCHO_LISTEN: " "$work/err" \
  || fail "bad TYCHO_LISTEN: expected exit 2 naming it, got rc=$rc: $(cat "$work/err")"

# the URL is shown without its password or query
"$TYCHO_BIN" health --url "http://admin:hunter2@$pub/no-such-route?token=SECRETQ" 2> "$work/err"; rc=$?
[ "$rc" = 1 ] || fail "404 with userinfo: expected exit 1, got $rc"
if grep -q "hunter2\|SECRETQ\|admin" "$work/err"; then fail "secret printed: $(cat "$work/err")"; fi
grep -qF "http://***@$pub/no-such-route?... answered 404" "$work/err" \
  || fail "redacted URL not shown: $(cat "$work/err")"

# only http and https
for url in file:///etc/passwd "ftp://user:pw@$pub/health" gopher://127.0.0.1/; do
  "$TYCHO_BIN" health --url "$url" 2> "$work/err"; rc=$?
  [ "$rc" = 2 ] && grep -q "^tycho health: --url must be an http:// or https:// URL" "$work/err" \
    || fail "$url: expected exit 2 and a clear line, got rc=$rc: $(cat "$work/err")"
  if grep -q "pw@" "$work/err"; then fail "secret printed: $(cat "$work/err")"; fi
done
# a server that takes the connection and never answers: given up after
# --timeout, 3 s when not given (as --help says)
"$TYCHO_BIN" health --help | grep -qF -- "--timeout: how long to wait for the whole answer" \
  || fail "--help does not describe --timeout"
"$TYCHO_BIN" health --help | grep -qF -- "(500ms, 2s) [3]" || fail "--help does not give --timeout's default"
/usr/bin/python3 -c 'import socket, sys, time
s = socket.socket(); s.bind(("127.0.0.1", 0)); s.listen(8)
print(s.getsockname()[1], flush=True)
conns = []
while True:
    conns.append(s.accept()[0])' > "$work/mute.port" &
mute=$!
wait_until 10 test -s "$work/mute.port" || true
mport=$(cat "$work/mute.port")
[ -n "$mport" ] || fail "the silent server did not start"
for t in "" 1; do
  start=$(date +%s%N)
  "$TYCHO_BIN" health --url "http://127.0.0.1:$mport/health" ${t:+--timeout "$t"} 2> "$work/err"; rc=$?
  ms=$((($(date +%s%N) - start) / 1000000))
  want=${t:-3}
  [ "$rc" = 1 ] && grep -q "Timeout was reached" "$work/err" \
    || fail "silent server, --timeout '$t': expected exit 1 on a timeout, got rc=$rc: $(cat "$work/err")"
  [ "$ms" -ge $((want * 1000 - 100)) ] && [ "$ms" -lt $((want * 1000 + 1500)) ] \
    || fail "silent server, --timeout '$t': gave up after $ms ms, expected about ${want} s"
done
kill "$mute"; wait "$mute" 2>/dev/null
kill -TERM "$pid"; wait "$pid"; pid=""
"$TYCHO_BIN" health --url "http://$pub/health" --timeout 1 2> "$work/err"; rc=$?
[ "$rc" = 1 ] || fail "nothing listening: expected exit 1, got $rc"
set -e
echo "ok: tycho health exits 0 / 1 / 2 as documented"
