#!/usr/bin/env bash
# The AWS JSON client's retry mode and error results against a loopback fake
# AWS (tests/aws/fake_aws.py): throttling and 5xx retried, clear errors after
# max attempts, connection reset, timeout, refused, CRC32 mismatch, expired
# credentials refreshed once, retry quota exhaustion, per-attempt hook, the
# trace header (sent, not signed), and botocore agreeing with the signatures
# seen on the wire.
. "$(dirname "$0")/lib.sh"
tycho_start_fake_aws || exit 1
aws_clean_env
# credentials from the fake's container endpoint, so they can expire and rotate
export AWS_CONTAINER_CREDENTIALS_RELATIVE_URI=/v2/credentials/test TYCHO_ECS_CREDENTIALS_HOST=127.0.0.1:$FAKE_AWS_PORT
export AWS_REGION=eu-west-1 AWS_ENDPOINT_URL="$FAKE_AWS_URL"
CALL=("$AWS_TOOLS/aws_call" --backoff-base-ms 20 --attempts)
script() { fake_ctl reset '{}' >/dev/null; fake_ctl script "{\"responses\":$1}" >/dev/null; }
result() { grep -v '"attempt":' <<<"$1" | tail -n1; }

# throttling, then success
script '[{"status":400,"body":{"__type":"com.amazon.coral.availability#ThrottlingException","message":"Rate exceeded"}},
         {"status":400,"body":{"__type":"com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceededException","message":"slow down"}},
         {"status":200,"body":{"Item":{"pk":{"S":"x"}}}}]'
out=$("${CALL[@]}" dynamodb DynamoDB_20120810.GetItem '{"TableName":"t"}')
r=$(result "$out")
check "throttling: retried to success" [ "$(jget "$r" ok)/$(jget "$r" attempts)" = "True/3" ]
check "throttling: attempt hook outcomes" \
    [ "$(grep '"attempt":' <<<"$out" | /usr/bin/python3 -c 'import json,sys; print(",".join(json.loads(l)["outcome"] for l in sys.stdin))')" = "throttled,throttled,success" ]
check "throttling: hook names service and operation" grep -q '"service":"dynamodb","operation":"GetItem"' <<<"$out"
check "throttling: backoff within full jitter caps (0.02 s, 0.04 s)" /usr/bin/python3 -c '
import json, sys
a = [json.loads(l) for l in sys.argv[1].splitlines() if "\"attempt\":" in l]
assert 0 <= a[0]["backoff"] < 0.02 and 0 <= a[1]["backoff"] < 0.04, a' "$out"

# 5xx until max attempts
script '[{"status":500,"body":{"__type":"InternalServerError","message":"boom 1"}},
         {"status":503,"body":{"__type":"ServiceUnavailable","message":"boom 2"}},
         {"status":500,"body":{"__type":"com.amazonaws.dynamodb.v20120810#InternalServerError","message":"boom 3"}},
         {"status":200,"body":{}}]'
r=$(result "$("${CALL[@]}" dynamodb DynamoDB_20120810.PutItem '{}')")
check "5xx: gives up after 3 attempts" [ "$(jget "$r" ok)/$(jget "$r" attempts)/$(jget "$r" status)" = "False/3/500" ]
check "5xx: structured error" [ "$(jget "$r" type)/$(jget "$r" retryable)" = "InternalServerError/True" ]
check "5xx: clear message" [ "$(jget "$r" message)" = "InternalServerError: boom 3 (HTTP 500)" ]
check "5xx: server saw exactly 3 requests" [ "$(jget "$(fake_ctl log)" counts.aws)" = 3 ]
# a proxy in front of AWS (a load balancer, a VPC endpoint) answers in its
# own words, not AWS's JSON: they are the message, not "no message"
script '[{"status":503,"body":"upstream connect error or disconnect/reset before headers. reset reason: connection failure","headers":{"Content-Type":"text/plain"}}]'
r=$(result "$("${CALL[@]}" --max-attempts 1 dynamodb DynamoDB_20120810.PutItem '{}')")
check "5xx not from AWS: the proxy's text is the message" [ "$(jget "$r" message)" = \
    "ServiceError: upstream connect error or disconnect/reset before headers. reset reason: connection failure (HTTP 503)" ]
script '[{"status":503,"body":{}},{"status":503,"body":{}}]'
r=$(result "$("${CALL[@]}" --max-attempts 2 sqs AmazonSQS.SendMessage '{}')")
check "max attempts option: 2" [ "$(jget "$r" attempts)/$(jget "$r" type)" = "2/ServiceError" ]
script '[{"status":503,"body":{}},{"status":503,"body":{}},{"status":503,"body":{}},{"status":503,"body":{}}]'
r=$(result "$(AWS_MAX_ATTEMPTS=4 "${CALL[@]}" sqs AmazonSQS.SendMessage '{}')")
check "AWS_MAX_ATTEMPTS=4" [ "$(jget "$r" attempts)" = 4 ]

# non-retryable errors are not retried
script '[{"status":400,"body":{"__type":"com.amazon.coral.validate#ValidationException","message":"bad key"}}]'
r=$(result "$("${CALL[@]}" dynamodb DynamoDB_20120810.GetItem '{}')")
check "4xx: not retried" [ "$(jget "$r" attempts)/$(jget "$r" retryable)/$(jget "$r" type)" = "1/False/ValidationException" ]
script '[{"status":400,"body":{"__type":"com.amazonaws.sqs#QueueDoesNotExist","message":"The specified queue does not exist."},"headers":{"x-amzn-query-error":"AWS.SimpleQueueService.NonExistentQueue;Sender"}}]'
r=$(result "$("${CALL[@]}" sqs AmazonSQS.SendMessage '{}')")
check "sqs error type" [ "$(jget "$r" type)" = QueueDoesNotExist ]
script '[{"status":400,"body":"{\"Message\":\"capital M\"}","headers":{"x-amzn-ErrorType":"SomeFault:http://internal.amazon.com/"}}]'
r=$(result "$("${CALL[@]}" sqs AmazonSQS.SendMessage '{}')")
check "error type from x-amzn-ErrorType, Message key" [ "$(jget "$r" message)" = "SomeFault: capital M (HTTP 400)" ]

# connection reset / closed, then success. libcurl itself re-sends once, on a
# fresh connection, a request whose reused keep-alive connection died before
# any reply byte; such a re-send is not an attempt, so the fake gets more.
script '[{"action":"reset"},{"action":"close"},{"status":200,"body":{"ok":1}},{"status":200,"body":{"ok":1}}]'
r=$(result "$("${CALL[@]}" sqs AmazonSQS.SendMessage '{}')")
check "reset and close: retried to success" [ "$(jget "$r" ok)" = True ] && [ "$(jget "$r" attempts)" -ge 2 ]
script '[{"action":"reset"},{"action":"reset"},{"action":"reset"},{"action":"reset"},{"action":"reset"},{"action":"reset"},{"action":"reset"}]'
r=$(result "$("${CALL[@]}" sqs AmazonSQS.SendMessage '{}')")
check "reset: transport error after 3 attempts" \
    [ "$(jget "$r" type)/$(jget "$r" attempts)/$(jget "$r" status)/$(jget "$r" transport_error)" = "TransportError/3/0/-7" ]

# timeout, then success (the second answer is at once, but a loaded machine
# can take hundreds of ms to give it: a 1 s timeout against a 3 s stall)
script '[{"delay_ms":3000,"status":200,"body":{}},{"status":200,"body":{"second":true}}]'
r=$(result "$("${CALL[@]}" --timeout-ms 1000 sqs AmazonSQS.SendMessage '{}')")
check "timeout: retried" [ "$(jget "$r" ok)/$(jget "$r" attempts)/$(jget "$r" body.second)" = "True/2/True" ]
script '[{"delay_ms":1000},{"delay_ms":1000},{"delay_ms":1000}]'
r=$(result "$("${CALL[@]}" --timeout-ms 200 sqs AmazonSQS.SendMessage '{}')")
check "timeout: clear error after max attempts" \
    [ "$(jget "$r" type)/$(jget "$r" transport_error)/$(jget "$r" attempts)" = "TransportError/-6/3" ]
check "timeout: message says so" grep -q "timeout" <<<"$(jget "$r" message)"

# refused
port=$(tycho_free_port)
r=$(result "$("${CALL[@]}" --endpoint "http://127.0.0.1:$port" sqs AmazonSQS.SendMessage '{}')")
check "refused: retried then transport error" \
    [ "$(jget "$r" type)/$(jget "$r" transport_error)/$(jget "$r" attempts)" = "TransportError/-4/3" ]

# DynamoDB CRC32 mismatch is retried
script '[{"status":200,"body":{"Item":{}},"crc32":"bad"},{"status":200,"body":{"Item":{"ok":{"BOOL":true}}}}]'
r=$(result "$("${CALL[@]}" dynamodb DynamoDB_20120810.GetItem '{}')")
check "crc32 mismatch: retried" [ "$(jget "$r" ok)/$(jget "$r" attempts)" = "True/2" ]

# expired credentials: one refresh, one retry
fake_ctl reset '{}' >/dev/null
fake_ctl config '{"expired_akids":["ASIAFAKE0001"]}' >/dev/null
out=$("${CALL[@]}" sqs AmazonSQS.SendMessage '{}')
r=$(result "$out")
log=$(fake_ctl log)
check "expired token: refreshed and retried" [ "$(jget "$r" ok)/$(jget "$r" attempts)" = "True/2" ]
check "expired token: credentials fetched twice" [ "$(jget "$log" counts.container)" = 2 ]
check "expired token: retry used the new key" grep -q 'Credential=ASIAFAKE0002/' <<<"$log"
fake_ctl reset '{}' >/dev/null
fake_ctl config '{"expired_akids":["ASIAFAKE0001","ASIAFAKE0002","ASIAFAKE0003"]}' >/dev/null
r=$(result "$("${CALL[@]}" sqs AmazonSQS.SendMessage '{}')")
check "expired token: only once, then the error" \
    [ "$(jget "$r" type)/$(jget "$r" attempts)/$(jget "$(fake_ctl log)" counts.container)" = "ExpiredTokenException/2/2" ]

# IMDS in its own outage answers expired sets (each a new key here), which
# AWS refuses (ExpiredToken): after the first drop IMDS is asked once more,
# then not again for 30 s; the calls meanwhile fail at once, naming why
# (without the pause: two IMDS fetches and two refused attempts per call)
fake_ctl reset '{}' >/dev/null
fake_ctl config '{"expiration_secs":-120,"expired_akids":["ASIAFAKE0001","ASIAFAKE0002",
  "ASIAFAKE0003","ASIAFAKE0004","ASIAFAKE0005","ASIAFAKE0006","ASIAFAKE0007","ASIAFAKE0008"]}' >/dev/null
out=$(env -u AWS_CONTAINER_CREDENTIALS_RELATIVE_URI -u TYCHO_ECS_CREDENTIALS_HOST \
    -u AWS_EC2_METADATA_DISABLED AWS_EC2_METADATA_SERVICE_ENDPOINT="$FAKE_AWS_URL/" \
    "${CALL[@]}" --repeat 4 sqs AmazonSQS.SendMessage '{}' 2>/dev/null)
log=$(fake_ctl log)
check "imds answering refused sets: 4 calls, IMDS asked twice, AWS once" \
    [ "$(jget "$log" counts.imds_creds)/$(jget "$log" counts.aws)" = 2/1 ]
last=$(grep -v '"attempt":' <<<"$out" | tail -n1)
check "imds answering refused sets: the calls fail naming the refused set" \
    grep -q "AWS rejected its credentials as expired (ExpiredToken) and it answered a set that has already expired" \
    <<<"$(jget "$last" message)"

# retry quota: 10 tokens = two retries, then calls fail fast
script '[{"status":500},{"status":500},{"status":500},{"status":500},{"status":500}]'
out=$("${CALL[@]}" --retry-quota 10 --repeat 2 sqs AmazonSQS.SendMessage '{}')
r1=$(grep -v '"attempt":' <<<"$out" | sed -n 1p)
r2=$(grep -v '"attempt":' <<<"$out" | sed -n 2p)
check "quota: first call retries twice" [ "$(jget "$r1" attempts)/$(jget "$r1" quota_exhausted)" = "3/False" ]
check "quota: second call fails fast" [ "$(jget "$r2" attempts)/$(jget "$r2" quota_exhausted)" = "1/True" ]
check "quota: message says why" grep -q "retry quota exhausted" <<<"$(jget "$r2" message)"

# trace header: sent, never signed; all signatures agree with botocore
script '[{"status":400,"body":{"__type":"ThrottlingException"}},{"status":200,"body":{}}]'
"${CALL[@]}" --header 'X-Amzn-Trace-Id: Root=1-5759e988-bd862e3fe1be46a994272793;Sampled=1' \
    --header 'X-Custom-Thing: a   b' dynamodb DynamoDB_20120810.PutItem '{"TableName":"t","Item":{"k":{"S":"ü"}}}' >/dev/null
log=$(fake_ctl log)
check "trace header sent" grep -q '"x-amzn-trace-id": "Root=1-5759e988-bd862e3fe1be46a994272793;Sampled=1"' <<<"$log"
check "trace header not signed, custom header signed" /usr/bin/python3 -c '
import json, sys
for r in json.loads(sys.argv[1])["requests"]:
    if "x-amz-target" in r["headers"]:
        sh = r["headers"]["authorization"].split("SignedHeaders=")[1].split(",")[0]
        assert sh == "content-type;host;x-amz-date;x-amz-security-token;x-amz-target;x-custom-thing", sh
        assert r["headers"]["content-type"] == "application/x-amz-json-1.0"
' "$log"
# an endpoint with a percent-encoded path is sent and signed as written (the
# wire path below is what botocore re-signs)
r=$(result "$("${CALL[@]}" --endpoint "$FAKE_AWS_URL/base/%C3%BC" sqs AmazonSQS.ListQueues '{}')")
check "percent-encoded endpoint path: the call goes out" [ "$(jget "$r" ok)" = True ]
log=$(fake_ctl log)
check "percent-encoded endpoint path: sent as written" grep -q '"path": "/base/%C3%BC"' <<<"$log"
check "botocore verifies every signature on the wire" \
    /usr/bin/python3 "$TYCHO_SRC/tests/aws/verify_wire_signatures.py" "$FAKE_AWS_URL" eu-west-1 <<<"$log"

# configuration errors are results too
r=$(result "$("${CALL[@]}" --endpoint "ftp://nope" sqs AmazonSQS.SendMessage '{}')")
check "bad endpoint: ConfigurationError" [ "$(jget "$r" type)/$(jget "$r" attempts)" = "ConfigurationError/0" ]
# curl would send /%C3%BC for a raw /ü, not what was signed: refused, as a
# query would be (dropped)
r=$(result "$("${CALL[@]}" --endpoint "$FAKE_AWS_URL/ü" sqs AmazonSQS.SendMessage '{}')")
check "raw non-ASCII endpoint path: ConfigurationError, no attempt, says to percent-encode" \
    [ "$(jget "$r" type)/$(jget "$r" attempts)" = "ConfigurationError/0" ] &&
    grep -q "^endpoint option: .*non-ASCII.*percent-encode" <<<"$(jget "$r" message)"
r=$(result "$("${CALL[@]}" --endpoint "$FAKE_AWS_URL/p?x=a%2Fb" sqs AmazonSQS.SendMessage '{}')")
check "endpoint with a query: ConfigurationError, no attempt" \
    [ "$(jget "$r" type)/$(jget "$r" attempts)" = "ConfigurationError/0" ] &&
    grep -q "takes no query" <<<"$(jget "$r" message)"
r=$(AWS_REGION= AWS_DEFAULT_REGION= "$AWS_TOOLS/aws_call" sqs AmazonSQS.SendMessage '{}')
check "no region: setup error names AWS_REGION" grep -q "set AWS_REGION" <<<"$(jget "$r" setup_error)"
finish
