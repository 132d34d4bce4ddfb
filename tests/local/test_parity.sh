#!/usr/bin/env bash
# Parity of the embedded local AWS backend with the real emulators: the same
# requests (tests/local/parity_fixture.jsonl) go to local-aws-sqs + dynalite
# (started on free ports by tests/lib/peers.sh) and through the executor
# (tests/tools/local_exec); normalized responses must match, and every known
# difference is declared in the fixture with its reason. A missing peer fails.
set -euo pipefail
: "${TYCHO_SRC:?run through ctest (TYCHO_SRC, TYCHO_BUILD)}" "${TYCHO_BUILD:?}"
. "$TYCHO_SRC/tests/lib/peers.sh"

tycho_start_local_sqs
tycho_start_dynalite

data=$(mktemp -d /tmp/tycho-parity.XXXXXX)
cleanup() { tycho_peers_stop || true; rm -rf "$data"; }
trap cleanup EXIT

rc=0
/usr/bin/python3 "$TYCHO_SRC/tests/local/parity.py" "$TYCHO_SRC/tests/local/parity_fixture.jsonl" \
    --local-exec "$TYCHO_BUILD/tools/local_exec" --data-dir "$data" \
    --sqs "$LOCAL_SQS_URL" --ddb "$DYNALITE_URL" || rc=$?
exit "$rc"
