# lib.sh — shared bits of the tests/awslua script tests (on top of
# tests/aws/lib.sh: check, jget, fake_ctl, finish, peers).
#   serve_start NAME [serve args...]   starts tycho serve (routes: $ROUTES, default
#                                      tests/awslua/routes) on free ports with the
#                                      current environment, until /-/ready answers
#                                      200; sets PORT, ADMIN, PID, LOG
#   serve_stop [SIGNAL]                signals it (TERM) and waits (10 s)
#   get PATH / post PATH JSON          curl the public port
#   metric NAME_WITH_LABELS            a value from /metrics ("" when absent)
#   use_local_sqs                      tycho's AWS backend: local-aws-sqs ($LOCAL_SQS_URL,
#                                      tycho_start_local_sqs), test keys
#   sqs_peer OPERATION JSON            one call straight to local-aws-sqs (JSON
#                                      protocol); prints its answer
#   use_tampered_sqs                   as use_local_sqs, but tycho's SQS calls go
#                                      through tests/aws/tamper_proxy.py ($TAMPER_URL;
#                                      told what to change on /__control/config)
. "$(dirname "${BASH_SOURCE[0]}")/../aws/lib.sh"
: "${TYCHO_BIN:?}"
ROUTES=${ROUTES:-$TYCHO_SRC/tests/awslua/routes}

serve_start() {
    local name=$1
    shift
    PORT=$(tycho_free_port)
    ADMIN=$(tycho_free_port)
    LOG="$TEST_TMP/$name.log"
    "$TYCHO_BIN" serve --listen "127.0.0.1:$PORT" --admin-listen "127.0.0.1:$ADMIN" \
        --routes "$ROUTES" "$@" >"$LOG" 2>&1 &
    PID=$!
    if ! tycho_wait_ready "$ADMIN" 15; then
        echo "tycho did not start; its log:" >&2
        tail -n 30 "$LOG" >&2
        return 1
    fi
}

serve_stop() {
    local sig=${1:-TERM} i
    kill -"$sig" "$PID" 2>/dev/null
    for ((i = 0; i < 200; i++)); do
        kill -0 "$PID" 2>/dev/null || break
        sleep 0.05
    done
    wait "$PID" 2>/dev/null
    SERVE_RC=$?
}

get() { curl -sS --max-time 30 "http://127.0.0.1:$PORT$1"; }
post() { curl -sS --max-time 60 -X POST "http://127.0.0.1:$PORT$1" -H 'Content-Type: application/json' -d "$2"; }
metric() {
    curl -sS "http://127.0.0.1:$ADMIN/metrics" | grep -F "$1 " | head -n1 | awk '{print $NF}'
}

use_local_sqs() {
    export TYCHO_AWS_BACKEND=aws AWS_ACCESS_KEY_ID=AKIDEXAMPLE AWS_SECRET_ACCESS_KEY=fake AWS_REGION=us-east-1
    export AWS_ENDPOINT_URL_SQS="$LOCAL_SQS_URL"
}
use_tampered_sqs() {
    use_local_sqs
    tycho_start_tamper_proxy "$LOCAL_SQS_URL" || return 1
    export AWS_ENDPOINT_URL_SQS="$TAMPER_URL"
}
sqs_peer() {
    curl -sS "$LOCAL_SQS_URL/" -H "X-Amz-Target: AmazonSQS.$1" \
        -H 'Content-Type: application/x-amz-json-1.0' -d "$2"
}
