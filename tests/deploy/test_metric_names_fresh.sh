#!/usr/bin/env bash
# A fresh tycho already exports every metric name the dashboards and alert
# rules use (grafana/README.md has users run check_metric_names on a live
# scrape): the reference app on the default local AWS backend, ready, no
# request served. Families with no series yet (labelled histograms before
# their first observation, the overflow counter) are listed by their HELP and
# TYPE lines, and each consumed queue's received/processed/failed counters
# start at 0, and so does not_deleted (so rate() sees the first failure of
# the process).
# shellcheck source=tests/awslua/lib.sh
. "$(dirname "$0")/../awslua/lib.sh" # serve_start, serve_stop; check, finish
aws_clean_env
export TYCHO_DATA_DIR="$TEST_TMP/data"
mkdir -p "$TYCHO_DATA_DIR"
ROUTES="$TYCHO_SRC/routes" serve_start fresh --workers 2 || exit 1
ready() { [ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$ADMIN/-/ready")" = 200 ]; }
check "tycho is ready" wait_until 15 ready
scrape="$TEST_TMP/scrape.txt"
curl -sS "http://127.0.0.1:$ADMIN/metrics" >"$scrape"
serve_stop TERM
check "tycho exited cleanly" [ "$SERVE_RC" = 0 ]

check "no request was served before the scrape" \
    bash -c "! grep -q '^tycho_http_requests_total{' '$scrape'"
out=$("$TYCHO_SRC/tests/deploy/check_metric_names" "$scrape" 2>&1)
rc=$?
echo "$out"
check "every metric the dashboards and alerts use is in a fresh scrape" [ "$rc" = 0 ]
for fam in "tycho_http_client_request_duration_seconds histogram" "tycho_metrics_overflow_total counter" \
    "tycho_http_requests_total counter" "tycho_sqs_consumer_handler_duration_seconds histogram"; do
    check "a family without series is declared: $fam" grep -qx "# TYPE $fam" "$scrape"
done
for c in received processed failed not_deleted; do
    check "tycho_sqs_consumer_${c}_total starts at 0" \
        grep -qx "tycho_sqs_consumer_${c}_total{queue=\"tycho-messages\"} 0" "$scrape"
done
check "promtool check metrics accepts the scrape" bash -c "promtool check metrics <'$scrape'"

# Routes that never call AWS: the AWS and outbound-HTTP families are listed
# from the start all the same (registered when the worker starts, not at the
# first call).
mkdir -p "$TEST_TMP/routes"
echo 'return { { "GET", "/", function () return "hi" end } }' >"$TEST_TMP/routes/hello.lua"
ROUTES="$TEST_TMP/routes" serve_start no-aws || exit 1
check "tycho (no AWS) is ready" wait_until 15 ready
curl -sS "http://127.0.0.1:$ADMIN/metrics" >"$TEST_TMP/no-aws.txt"
serve_stop TERM
for fam in "aws_requests_total counter" "aws_request_duration_seconds histogram" \
    "tycho_http_client_request_duration_seconds histogram"; do
    check "declared before any AWS call: $fam" grep -qx "# TYPE $fam" "$TEST_TMP/no-aws.txt"
done
finish
