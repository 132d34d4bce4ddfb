#!/usr/bin/env bash
# AWS faults through the Lua API (tycho.aws.call in a route) against the
# fault-injecting fake (tests/aws/fake_aws.py): throttling retried then a
# clear error, 500/503, connection reset, timeout; every attempt counted in
# aws_requests_total and visible on the CLIENT span (retry events); the
# X-Amzn-Trace-Id sent carries the request's trace. Also tycho.http's trace
# headers and CLIENT span against a loopback echo server.
. "$(dirname "$0")/lib.sh"
tycho_start_fake_aws || exit 1
aws_clean_env
export AWS_ACCESS_KEY_ID=AKIDEXAMPLE AWS_SECRET_ACCESS_KEY=fake-secret AWS_REGION=us-east-1
export AWS_ENDPOINT_URL="$FAKE_AWS_URL" TYCHO_AWS_BACKEND=aws TYCHO_TRACES_STDOUT=1 TEST_CONSUMER=off
serve_start faults --workers 1 || exit 1

script() { fake_ctl reset '{}' >/dev/null; fake_ctl script "{\"responses\":$1}" >/dev/null; }
call() { post /aws "{\"service\":\"dynamodb\",\"target\":\"DynamoDB_20120810.GetItem\",\"params\":{\"TableName\":\"t\"}${1:+,$1}}"; }
THROTTLE='{"status":400,"body":{"__type":"com.amazon.coral.availability#ThrottlingException","message":"Rate exceeded"}}'

# throttled twice, then success: retried, the handler sees the result
script "[$THROTTLE,$THROTTLE,{\"status\":200,\"body\":{\"Item\":{\"pk\":{\"S\":\"x\"}}},\"headers\":{\"x-amzn-RequestId\":\"REQ-1\"}}]"
r=$(curl -sS -X POST "http://127.0.0.1:$PORT/aws" -H 'traceparent: 00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01' \
    -d '{"service":"dynamodb","target":"DynamoDB_20120810.GetItem","params":{"TableName":"t"}}')
check "throttling: retried to success" [ "$(jget "$r" ok)/$(jget "$r" result.Item.pk.S)" = "True/x" ]
check "throttling: the fake saw 3 attempts" [ "$(jget "$(fake_ctl log)" counts.aws)" = 3 ]
log=$(fake_ctl log)
check "X-Amzn-Trace-Id carries the request's trace" /usr/bin/python3 -c '
import json, sys
reqs = [r for r in json.loads(sys.argv[1])["requests"] if "x-amz-target" in r["headers"]]
ids = [r["headers"].get("x-amzn-trace-id", "") for r in reqs]
assert len(ids) == 3 and all(i.startswith("Root=1-0af76519-16cd43dd8448eb211c80319c;Parent=") and "Sampled=1" in i for i in ids), ids' "$log"
check "CLIENT span: DynamoDB.GetItem, aws-api, request id, 2 retry events, parent = the server span" \
    wait_until 10 /usr/bin/python3 -c '
import json, sys
spans = [json.loads(l) for l in open(sys.argv[1]) if l.startswith("{") and "\"kind\"" in l and "\"trace_id\"" in l]
c = [s for s in spans if s.get("name") == "DynamoDB.GetItem" and s["trace_id"] == "0af7651916cd43dd8448eb211c80319c"]
assert len(c) == 1, [s.get("name") for s in spans]
s = c[0]; a = s["attributes"]
assert s["kind"] == "CLIENT", s
assert a["rpc.system"] == "aws-api" and a["rpc.service"] == "DynamoDB" and a["rpc.method"] == "GetItem", a
assert a["aws.request_id"] == "REQ-1" and a["aws.attempts"] == 3, a
assert [e["name"] for e in s["events"]] == ["retry", "retry"], s["events"]
srv = [x for x in spans if x["kind"] == "SERVER" and x["trace_id"] == s["trace_id"]]
assert srv and s["parent_span_id"] == srv[0]["span_id"], (s, srv)' "$LOG"
check "metrics: throttled attempts counted" \
    [ "$(metric 'aws_requests_total{service="dynamodb",operation="GetItem",outcome="throttled"}')" = 2 ]
check "metrics: the success counted" \
    [ "$(metric 'aws_requests_total{service="dynamodb",operation="GetItem",outcome="success"}')" = 1 ]

# the request id under its other spelling (x-amzn-Request-Id) reaches the span too
script '[{"status":200,"body":{},"headers":{"x-amzn-RequestId":null,"x-amzn-Request-Id":"REQ-2"}}]'
curl -sS -X POST "http://127.0.0.1:$PORT/aws" -H 'traceparent: 00-0af7651916cd43dd8448eb211c8031a0-b7ad6b7169203331-01' \
    -d '{"service":"dynamodb","target":"DynamoDB_20120810.GetItem","params":{"TableName":"t"}}' >/dev/null
check "CLIENT span: aws.request_id from x-amzn-Request-Id" \
    wait_until 10 /usr/bin/python3 -c '
import json, sys
spans = [json.loads(l) for l in open(sys.argv[1]) if l.startswith("{") and "\"kind\"" in l and "\"trace_id\"" in l]
c = [s for s in spans if s.get("name") == "DynamoDB.GetItem" and s["trace_id"] == "0af7651916cd43dd8448eb211c8031a0"]
assert len(c) == 1 and c[0]["attributes"]["aws.request_id"] == "REQ-2", c' "$LOG"

# throttled on every attempt: a clear, structured error after 3 attempts
script "[$THROTTLE,$THROTTLE,$THROTTLE,$THROTTLE]"
r=$(call)
check "throttling: structured error after max attempts" \
    [ "$(jget "$r" ok)/$(jget "$r" error.type)/$(jget "$r" error.status)/$(jget "$r" error.retryable)/$(jget "$r" error.attempts)/$(jget "$r" error.http_status)" = "False/ThrottlingException/400/True/3/503" ]
check "throttling: the message says what happened" grep -q "Rate exceeded" <<<"$(jget "$r" error.message)"

# max_attempts = 1 (a health check's call): the first failure is the answer
script "[$THROTTLE,$THROTTLE,$THROTTLE]"
r=$(call '"max_attempts":1')
check "max_attempts 1: not retried" \
    [ "$(jget "$r" error.type)/$(jget "$r" error.attempts)/$(jget "$(fake_ctl log)" counts.aws)" = "ThrottlingException/1/1" ]
r=$(call '"max_attempts":51')
check "max_attempts out of range: refused before any call" grep -q "max_attempts must be an integer from 1 to 50" <<<"$r"

# the same for tycho.sqs calls (their options take timeout and max_attempts)
SQS_THROTTLE='{"status":400,"body":{"__type":"com.amazonaws.sqs#RequestThrottled","message":"Rate exceeded"}}'
for c in 'send:["x"]' 'receive:[]' 'delete:["handle"]' 'change_visibility:["handle",0]' 'attributes:["All"]'; do
    script "[$SQS_THROTTLE,$SQS_THROTTLE,$SQS_THROTTLE]"
    r=$(post /sqs "{\"queue_url\":\"$FAKE_AWS_URL/000000000000/q\",\"op\":\"${c%%:*}\",\"args\":${c#*:},\"opts\":{\"max_attempts\":1}}")
    check "tycho.sqs ${c%%:*} with max_attempts 1 on a throttling endpoint: one attempt" \
        [ "$(jget "$r" error.type)/$(jget "$r" error.attempts)/$(jget "$(fake_ctl log)" counts.aws)" = "RequestThrottled/1/1" ]
done

# 500 then 503 then 500: gives up, retryable server error
script '[{"status":500,"body":{"__type":"InternalServerError","message":"boom"}},{"status":503,"body":{}},{"status":500,"body":{"__type":"InternalServerError","message":"boom 3"}}]'
r=$(call)
check "5xx: error after 3 attempts" \
    [ "$(jget "$r" error.type)/$(jget "$r" error.status)/$(jget "$r" error.retryable)/$(jget "$r" error.attempts)/$(jget "$r" error.http_status)" = "InternalServerError/500/True/3/502" ]
# 503 once, then success
script '[{"status":503,"body":{"__type":"ServiceUnavailable","message":"busy"}},{"status":200,"body":{"ok":1}}]'
r=$(call)
check "503 then success" [ "$(jget "$r" ok)/$(jget "$r" result.ok)" = "True/1" ]

# connection reset on every attempt: transport error
script '[{"action":"reset"},{"action":"reset"},{"action":"reset"},{"action":"reset"},{"action":"reset"},{"action":"reset"}]'
r=$(call)
check "reset: TransportError, retryable, 502" \
    [ "$(jget "$r" error.type)/$(jget "$r" error.retryable)/$(jget "$r" error.http_status)/$(jget "$r" error.status)" = "TransportError/True/502/0" ]

# timeout on every attempt (per-attempt timeout 0.3 s): transport error 504
script '[{"delay_ms":2000},{"delay_ms":2000},{"delay_ms":2000}]'
t0=$(date +%s.%N)
r=$(call '"timeout":0.3')
t1=$(date +%s.%N)
check "timeout: TransportError, 504" [ "$(jget "$r" error.type)/$(jget "$r" error.http_status)/$(jget "$r" error.attempts)" = "TransportError/504/3" ]
check "timeout: the message says timeout" grep -qi "timeout" <<<"$(jget "$r" error.message)"
check "timeout: bounded by the attempts" /usr/bin/python3 -c "import sys; assert float(sys.argv[2]) - float(sys.argv[1]) < 8" "$t0" "$t1"
check "the worker kept serving meanwhile" [ "$(jget "$(get /health)" ok)" = True ]

# a handler that lets an AWS error escape answers its http_status
script "[$THROTTLE,$THROTTLE,$THROTTLE]"
code=$(curl -sS -o /dev/null -w '%{http_code}' -X POST "http://127.0.0.1:$PORT/send" -d '{"body":"x"}')
check "an escaped AWS error answers its http_status (throttled: 503)" [ "$code" = 503 ]

# send_batch: the first request of 10 is sent, the second is throttled past
# its retries: its entries are in failed, the first ten stay reported sent
ok10=$(/usr/bin/python3 -c 'import json; print(json.dumps({"status": 200, "body": {"Successful": [{"Id": str(i), "MessageId": "m%d" % i} for i in range(1, 11)], "Failed": []}}))')
script "[$ok10,$THROTTLE,$THROTTLE,$THROTTLE]"
r=$(post /send-batch "{\"queue_url\":\"$FAKE_AWS_URL/000000000000/q\",\"bodies\":[$(seq -s, -f '"b%g"' 1 12)]}")
check "send_batch: a throttled second request fails its entries, the first stays sent" /usr/bin/python3 -c '
import json, sys
r = json.loads(sys.argv[1])
assert r["sent"] == list(range(1, 11)), r
assert r["failed"] == [{"index": i, "code": "ThrottlingException", "attempts": 3, "sender_fault": False} for i in (11, 12)], r' "$r"

# tycho.http: traceparent/tracestate sent, CLIENT span recorded
ECHO_PORT=$(tycho_free_port)
/usr/bin/python3 "$TYCHO_SRC/tests/aws/fake_http.py" "$ECHO_PORT" >/dev/null 2>&1 &
_tycho_peers_track $!
tycho_wait_port "$ECHO_PORT" 10
# the AWS calls above went to 127.0.0.1 too (the fake AWS): one host, one series
aws_2xx=$(metric 'tycho_http_client_request_duration_seconds_count{host="127.0.0.1",status_class="2xx"}')
r=$(curl -sS "http://127.0.0.1:$PORT/fetch?url=http://127.0.0.1:$ECHO_PORT/echo" \
    -H 'traceparent: 00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01' -H 'tracestate: vendor=x')
check "tycho.http: traceparent continues the request's trace, tracestate kept" /usr/bin/python3 -c '
import json, sys
echo = json.loads(json.loads(sys.argv[1])["body"])
h = {k.lower(): v for k, v in echo["headers"]}
tp = h["traceparent"].split("-")
assert tp[0] == "00" and tp[1] == "4bf92f3577b34da6a3ce929d0e0e4736" and tp[3] == "01", h
assert tp[2] != "00f067aa0ba902b7", h
assert h["tracestate"] == "vendor=x", h
assert "x-amzn-trace-id" not in h, h' "$r"
# the one CLIENT span of trace $1 in the log, checked by the Python
# statements $2 (s: the span, a: its attributes)
client_span() {
    /usr/bin/python3 -c '
import json, sys
spans = [json.loads(l) for l in open(sys.argv[1]) if l.startswith("{") and "\"trace_id\"" in l and "\"kind\"" in l]
c = [s for s in spans if s["kind"] == "CLIENT" and s["trace_id"] == sys.argv[2]]
assert len(c) == 1, c
s = c[0]
a = s["attributes"]
exec(sys.argv[3])' "$LOG" "$1" "$2"
}
check "tycho.http: CLIENT span with the HTTP client attributes" wait_until 10 client_span 4bf92f3577b34da6a3ce929d0e0e4736 '
assert a["http.request.method"] == "GET" and a["http.response.status_code"] == 200, a
assert a["server.address"] == "127.0.0.1" and a["url.full"].endswith("/echo"), a'
r=$(curl -sS "http://127.0.0.1:$PORT/fetch?url=http://127.0.0.1:$ECHO_PORT/echo&method=PROPFIND" \
    -H 'traceparent: 00-5bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01')
check "tycho.http: a method outside RFC 9110 is _OTHER on the CLIENT span, named HTTP" \
    wait_until 10 client_span 5bf92f3577b34da6a3ce929d0e0e4736 '
assert s["name"] == "HTTP", s
assert a["http.request.method"] == "_OTHER" and a["http.request.method_original"] == "PROPFIND", a'
check "tycho_http_client_request_duration_seconds{host,status_class}" \
    [ "$(metric 'tycho_http_client_request_duration_seconds_count{host="127.0.0.1",status_class="2xx"}')" = \
      "$((${aws_2xx:-0} + 1))" ]
r=$(get "/fetch?url=http://127.0.0.1:$(tycho_free_port)/")
check "tycho.http: a refused connection is nil + message + kind" [ "$(jget "$r" kind)" = connect ]

serve_stop
check "tycho exits 0 on SIGTERM" [ "$SERVE_RC" = 0 ]
finish
