# shellcheck shell=bash
# aws_json.sh — plain calls to the local AWS peers (dynalite, local-aws-sqs)
# from shell scripts, for setting them up. Source it:
#   . "$TYCHO_SRC/tests/lib/aws_json.sh"
#   tycho_aws_json "$DYNALITE_URL" DynamoDB_20120810.CreateTable "$json"   # prints the answer
#   tycho_table_wait_active "$DYNALITE_URL" my-table 10                    # 0 once ACTIVE
# The peers verify no signature, but dynalite wants a well-formed SigV4
# Authorization header: a fixed one is sent.

# tycho_aws_json URL TARGET BODY: one AWS JSON 1.0 call; non-zero when the
# peer cannot be reached or answers an HTTP error.
tycho_aws_json() {
    curl -sSf -m 10 "${1%/}/" -H "X-Amz-Target: $2" -H 'Content-Type: application/x-amz-json-1.0' \
        -H 'Authorization: AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20240101/us-east-1/x/aws4_request, SignedHeaders=host, Signature=0' \
        -H 'X-Amz-Date: 20240101T000000Z' -d "$3"
}

# tycho_table_wait_active URL TABLE [TIMEOUT_SECONDS=10]: DynamoDB answers
# CreateTable with the table CREATING and refuses items until it is ACTIVE
# (dynalite too: 300 ms as tests/lib/peers.sh starts it). 0 once ACTIVE;
# 1 with a message after the timeout.
tycho_table_wait_active() {
    local url=$1 table=$2 tries=$((${3:-10} * 20)) i
    for ((i = 0; i < tries; i++)); do
        tycho_aws_json "$url" DynamoDB_20120810.DescribeTable "{\"TableName\":\"$table\"}" 2>/dev/null |
            grep -q '"TableStatus":"ACTIVE"' && return 0
        sleep 0.05
    done
    echo "table $table at $url is not ACTIVE after ${3:-10} s" >&2
    return 1
}
