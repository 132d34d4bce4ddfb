# shellcheck shell=bash disable=SC2034
# app.sh — run the reference app (routes/) on the local backend for the
# tests/local fault tests. Source it after tests/aws/lib.sh (check, finish,
# jget, TEST_TMP). Provides:
#   app_clean_env           no AWS, app or tycho settings from the caller's environment
#   app_start DATA [ROUTES] tycho serve on kernel-picked ports with --data-dir DATA;
#                           sets APP_URL, APP_PID, APP_LOG; 1 with the log if it did not start
#   app_stop                SIGTERM, wait; returns tycho's exit status
#   app_kill9               SIGKILL, wait
#   http METHOD PATH [JSON] one request (10 s at most); sets STATUS (000: no answer) and BODY
#   sql DB QUERY            the rows of QUERY, "|"-separated (sqlite3 CLI, else python3)

app_clean_env() {
    aws_clean_env
    local v
    for v in $(compgen -e | grep -E '^(TYCHO_|SQS_|DYNAMODB_|OTEL_|SIMULATED_|SAMPLE_LOG_|MAX_PAYLOAD_)'); do
        case $v in TYCHO_BIN | TYCHO_SRC | TYCHO_BUILD | TYCHO_SANITIZE) ;; *) unset "$v" ;; esac
    done
}

app_start() {
    local data=$1 routes=${2:-routes} line i
    APP_LOG=$(mktemp "$TEST_TMP/serve.XXXXXX")
    (cd "$TYCHO_SRC" && exec "$TYCHO_BIN" serve --routes "$routes" --data-dir "$data" \
        --listen 127.0.0.1:0 --admin-listen 127.0.0.1:0 --workers 2 >"$APP_LOG" 2>&1) &
    APP_PID=$!
    line=
    for ((i = 0; i < 300; i++)); do
        line=$(grep -m1 '"msg":"listening"' "$APP_LOG" 2>/dev/null) && break
        kill -0 "$APP_PID" 2>/dev/null || break
        sleep 0.05
    done
    if [ -z "$line" ]; then
        echo "tycho serve did not start:"
        cat "$APP_LOG"
        return 1
    fi
    APP_URL="http://$(jget "$line" public)"
}

app_stop() {
    kill -TERM "$APP_PID" 2>/dev/null
    wait "$APP_PID"
}

app_kill9() {
    kill -KILL "$APP_PID" 2>/dev/null
    wait "$APP_PID" 2>/dev/null
    return 0
}

http() {
    local args=(-sS --max-time 10 -X "$1" "$APP_URL$2" -w '\n%{http_code}')
    [ $# -ge 3 ] && args+=(-H 'Content-Type: application/json' --data-binary "$3")
    local out
    out=$(curl "${args[@]}" 2>/dev/null)
    STATUS=${out##*$'\n'}
    BODY=${out%$'\n'*}
    [ -n "$STATUS" ] || STATUS=000
}

sql() {
    if command -v sqlite3 >/dev/null; then
        sqlite3 "$1" "$2"
    else
        /usr/bin/python3 -c 'import sqlite3, sys
for row in sqlite3.connect(sys.argv[1]).execute(sys.argv[2]):
    print("|".join("" if v is None else str(v) for v in row))' "$1" "$2"
    fi
}
