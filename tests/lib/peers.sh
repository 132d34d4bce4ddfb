# peers.sh — start the test peers on free loopback ports, wait until they
# answer, and stop them when the test script exits. Source it:
#   . "$TYCHO_SRC/tests/lib/peers.sh"
#   tycho_start_dynalite      # sets DYNALITE_PORT, DYNALITE_URL, DYNALITE_PID
#   tycho_start_local_sqs     # sets LOCAL_SQS_PORT, LOCAL_SQS_URL, LOCAL_SQS_PID
#   tycho_start_fake_aws      # sets FAKE_AWS_PORT, FAKE_AWS_URL, FAKE_AWS_PID
#                             #   (tests/aws/fake_aws.py: container/IMDS/STS + faults)
#   tycho_start_tamper_proxy UPSTREAM_URL  # sets TAMPER_PORT, TAMPER_URL, TAMPER_PID
#                             #   (tests/aws/tamper_proxy.py: unprocessed batch
#                             #   entries, corrupted SQS digests)
# Each function returns non-zero with a message (and the peer's log) when the
# peer cannot start; a missing peer is a failure, never a skip. Peers log to
# $TYCHO_PEERS_LOG_DIR (default: a temp dir). All peers started here are
# killed by PID on exit (an EXIT trap installed on first use; if your script
# sets its own EXIT trap, call tycho_peers_stop from it).
# Set them up with tests/lib/aws_json.sh (sourced here): tycho_aws_json,
# tycho_table_wait_active.
# The npm peers come from tests/peers (package-lock.json pins dynalite 4.0.0
# and local-aws-sqs 2.0.2); scripts/setup runs `npm ci` there.

. "$(dirname "${BASH_SOURCE[0]}")/ports.sh"
. "$(dirname "${BASH_SOURCE[0]}")/aws_json.sh"

TYCHO_PEERS_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")/../peers" && pwd)
TYCHO_AWS_TEST_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")/../aws" && pwd)
TYCHO_PEER_PIDS=()
: "${TYCHO_PEERS_LOG_DIR:=$(mktemp -d /tmp/tycho-peers.XXXXXX)}"

tycho_peers_stop() {
    local pid
    for pid in "${TYCHO_PEER_PIDS[@]}"; do
        kill "$pid" 2>/dev/null
    done
    for pid in "${TYCHO_PEER_PIDS[@]}"; do
        wait "$pid" 2>/dev/null
    done
    TYCHO_PEER_PIDS=()
}

_tycho_peers_trap_set=
_tycho_peers_track() {
    TYCHO_PEER_PIDS+=("$1")
    if [ -z "$_tycho_peers_trap_set" ]; then
        trap tycho_peers_stop EXIT
        _tycho_peers_trap_set=1
    fi
}

_tycho_need_node_modules() {
    if [ ! -d "$TYCHO_PEERS_DIR/node_modules/$1" ]; then
        echo "peers: $TYCHO_PEERS_DIR/node_modules/$1 is missing: run scripts/setup" \
             "(npm ci in tests/peers)" >&2
        return 1
    fi
    command -v node >/dev/null || { echo "peers: node not found: run scripts/setup" >&2; return 1; }
}

# _tycho_start NAME PORT CMD...: starts CMD in the background, waits for PORT.
_tycho_start() {
    local name=$1 port=$2
    shift 2
    local log="$TYCHO_PEERS_LOG_DIR/$name.log"
    "$@" >"$log" 2>&1 &
    local pid=$!
    _tycho_peers_track "$pid"
    if ! tycho_wait_port "$port" 20; then
        echo "peers: $name did not listen on 127.0.0.1:$port within 20 s; its log:" >&2
        tail -n 20 "$log" >&2
        return 1
    fi
    _tycho_last_pid=$pid
}

# dynalite (DynamoDB): in memory. A new table stays CREATING for 300 ms, as
# on DynamoDB (for seconds there), so a test that uses a table too early
# fails on any host, not only on a slow one (wait with
# tycho_table_wait_active, or spec/fixtures/table.lua in specs).
tycho_start_dynalite() {
    _tycho_need_node_modules dynalite || return 1
    DYNALITE_PORT=$(tycho_free_port)
    _tycho_start dynalite "$DYNALITE_PORT" node "$TYCHO_PEERS_DIR/node_modules/dynalite/cli.js" \
        --host 127.0.0.1 --port "$DYNALITE_PORT" --createTableMs 300 || return 1
    DYNALITE_PID=$_tycho_last_pid
    DYNALITE_URL="http://127.0.0.1:$DYNALITE_PORT"
}

# local-aws-sqs (SQS, JSON and query protocols), via tests/peers/sqs_server.js.
tycho_start_local_sqs() {
    _tycho_need_node_modules local-aws-sqs || return 1
    LOCAL_SQS_PORT=$(tycho_free_port)
    _tycho_start local-aws-sqs "$LOCAL_SQS_PORT" node "$TYCHO_PEERS_DIR/sqs_server.js" \
        "$LOCAL_SQS_PORT" || return 1
    LOCAL_SQS_PID=$_tycho_last_pid
    LOCAL_SQS_URL="http://127.0.0.1:$LOCAL_SQS_PORT"
}

# fake_aws.py: metadata endpoints (container, IMDS, STS) and a scripted AWS
# JSON service; control it with curl on $FAKE_AWS_URL/__control/...
tycho_start_fake_aws() {
    FAKE_AWS_PORT=$(tycho_free_port)
    _tycho_start fake-aws "$FAKE_AWS_PORT" /usr/bin/python3 "$TYCHO_AWS_TEST_DIR/fake_aws.py" \
        "$FAKE_AWS_PORT" || return 1
    FAKE_AWS_PID=$_tycho_last_pid
    FAKE_AWS_URL="http://127.0.0.1:$FAKE_AWS_PORT"
}

# tamper_proxy.py in front of a peer (dynalite, local-aws-sqs): forwards
# everything, holds back batch entries or corrupts MD5 digests as told on
# $TAMPER_URL/__control/config.
tycho_start_tamper_proxy() {
    TAMPER_PORT=$(tycho_free_port)
    _tycho_start tamper-proxy "$TAMPER_PORT" /usr/bin/python3 "$TYCHO_AWS_TEST_DIR/tamper_proxy.py" \
        "$TAMPER_PORT" "$1" || return 1
    TAMPER_PID=$_tycho_last_pid
    TAMPER_URL="http://127.0.0.1:$TAMPER_PORT"
}
