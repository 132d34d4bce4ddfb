#!/usr/bin/env bash
# Every metric name the Grafana dashboards and alert rules use exists in what
# tycho really exports (not only in fixtures/metrics.txt): tycho serves the
# reference app as deployed (TYCHO_AWS_BACKEND=aws, here against dynalite and
# local-aws-sqs, so AWS calls go over HTTP), traffic goes through every
# route — the workflow and a message the consumer fails on included; the
# sample-log timer on (SAMPLE_LOG_INTERVAL), so its series show their labels — and
# check_metric_names reads a scrape of the admin /metrics; the contract
# fixtures/metrics.txt must declare the same families and labels.
# shellcheck source=tests/awslua/lib.sh
. "$(dirname "$0")/../awslua/lib.sh" # serve_start, get, post, metric; check, jget, peers
tycho_start_dynalite || exit 1
tycho_start_local_sqs || exit 1
aws_clean_env
export AWS_ACCESS_KEY_ID=AKIDEXAMPLE AWS_SECRET_ACCESS_KEY=fake-secret AWS_REGION=us-east-1 AWS_PAGER=""
awscli() { /usr/bin/aws --output text "$@"; }

# the deployed resources (infra/lib/data-stack.ts), on the peers
dlq=$(awscli --endpoint-url "$LOCAL_SQS_URL" sqs create-queue --queue-name tycho-messages-dlq --query QueueUrl)
dlq_arn=$(awscli --endpoint-url "$LOCAL_SQS_URL" sqs get-queue-attributes --queue-url "$dlq" \
    --attribute-names QueueArn --query Attributes.QueueArn)
queue=$(awscli --endpoint-url "$LOCAL_SQS_URL" sqs create-queue --queue-name tycho-messages --attributes \
    "{\"RedrivePolicy\":\"{\\\"deadLetterTargetArn\\\":\\\"$dlq_arn\\\",\\\"maxReceiveCount\\\":\\\"3\\\"}\"}" \
    --query QueueUrl)
awscli --endpoint-url "$DYNALITE_URL" dynamodb create-table --table-name tycho-app-data \
    --billing-mode PAY_PER_REQUEST \
    --attribute-definitions AttributeName=id,AttributeType=S AttributeName=timestamp,AttributeType=S \
    --key-schema AttributeName=id,KeyType=HASH AttributeName=timestamp,KeyType=RANGE >/dev/null
check "the table turns ACTIVE on dynalite" tycho_table_wait_active "$DYNALITE_URL" tycho-app-data
check "the queue exists on local-aws-sqs" [ -n "$queue" ]
check "the dead-letter queue exists on local-aws-sqs" [ -n "$dlq" ]

export TYCHO_AWS_BACKEND=aws AWS_ENDPOINT_URL_SQS="$LOCAL_SQS_URL" AWS_ENDPOINT_URL_DYNAMODB="$DYNALITE_URL" \
    SQS_MESSAGE_QUEUE_URL="$queue" SQS_DEAD_LETTER_QUEUE_URL="$dlq" DYNAMODB_APP_TABLE=tycho-app-data \
    TYCHO_SQS_DEPTH_INTERVAL=1 SIMULATED_ERROR_RATE=0.5 SAMPLE_LOG_INTERVAL=0.5
ROUTES="$TYCHO_SRC/routes" serve_start app --workers 2 || exit 1

code() { curl -sS -o /dev/null -w '%{http_code}' --max-time 30 "$@"; }
U="http://127.0.0.1:$PORT"
check "GET /" [ "$(code "$U/")" = 200 ]
check "GET /health" [ "$(code "$U/health")" = 200 ]
check "GET /health?deep=1" [ "$(code "$U/health?deep=1")" = 200 ]
for i in $(seq 1 10); do code "$U/test-telemetry" >/dev/null; done
check "GET /test-telemetry" [ "$(code "$U/test-telemetry")" = 200 ]
check "POST /send-message" [ "$(code -X POST "$U/send-message")" = 202 ]
check "GET /receive-messages" [ "$(code "$U/receive-messages?wait=0")" = 200 ]
check "POST /save-data with bad JSON" [ "$(code -X POST "$U/save-data" -d '{')" = 400 ]
id=$(jget "$(post /save-data '{"user_id":"alice"}')" id)
check "GET /get-data/:id" [ "$(code "$U/get-data/$id")" = 200 ]
check "GET /get-data/<unknown>" [ "$(code "$U/get-data/nope")" = 404 ]
check "GET /<no route> (route=\"\")" [ "$(code "$U/no-such-route")" = 404 ]
data_id=$(jget "$(get /workflow)" data_id)
check "GET /workflow" [ -n "$data_id" ]
# a workflow message whose key DynamoDB refuses: the consumer fails on it
awscli --endpoint-url "$LOCAL_SQS_URL" sqs send-message --queue-url "$queue" \
    --message-body '{"data_id":"x","data_timestamp":""}' \
    --message-attributes 'MessageType={DataType=String,StringValue=workflow}' >/dev/null

processed() { [ "$(jget "$(get "/get-data/$data_id")" data.status)" = processed ]; }
failed() { # the counter starts at 0 when the consumer starts
    local v
    v=$(metric 'tycho_sqs_consumer_failed_total{queue="tycho-messages"}')
    [ -n "$v" ] && [ "$v" != 0 ]
}
check "the consumer processed the workflow" wait_until 45 processed
check "the consumer failed on the bad message" wait_until 45 failed
sleep 2 # a queue depth poll
curl -sS "http://127.0.0.1:$ADMIN/metrics" >"$TEST_TMP/scrape.txt"
serve_stop TERM
check "tycho exited cleanly" [ "$SERVE_RC" = 0 ]

# The outbound histogram's host is the host called without its port
# (docs/telemetry.md), for AWS calls as for tycho.http: the peers listen on
# 127.0.0.1:<port>.
check "AWS calls' outbound series are labelled host=\"127.0.0.1\", without the port" \
    grep -qF 'tycho_http_client_request_duration_seconds_count{host="127.0.0.1",status_class="2xx"} ' \
    "$TEST_TMP/scrape.txt"
check "no outbound series is labelled with a port" \
    bash -c '! grep -E "^tycho_http_client_request_duration_seconds_count\{host=\"[^\"]*:[0-9]+\"" "$1"' _ \
    "$TEST_TMP/scrape.txt"

out=$("$TYCHO_SRC/tests/deploy/check_metric_names" "$TEST_TMP/scrape.txt" 2>&1)
rc=$?
echo "$out"
check "every metric the dashboards and alerts use is in the live scrape" [ "$rc" = 0 ]

# The contract the dashboards are checked against offline is this scrape:
# TYCHO_UPDATE_METRICS_FIXTURE=1 rewrites it from the live one.
fixture="$TYCHO_SRC/tests/deploy/fixtures/metrics.txt"
if [ "${TYCHO_UPDATE_METRICS_FIXTURE:-}" = 1 ]; then
    {
        echo "# The metric contract (tests/deploy): a /metrics scrape of the reference app as"
        echo "# deployed (TYCHO_AWS_BACKEND=aws) after traffic on every route, taken by"
        echo "# tests/deploy/test_metric_names_live.sh. Regenerate with"
        echo "#   TYCHO_UPDATE_METRICS_FIXTURE=1 ctest -R deploy.metric_names_live"
        cat "$TEST_TMP/scrape.txt"
    } >"$fixture"
fi
check "fixtures/metrics.txt declares the families and labels tycho exports" \
    "$TYCHO_SRC/tests/deploy/check_metric_contract" "$fixture" "$TEST_TMP/scrape.txt"
finish
