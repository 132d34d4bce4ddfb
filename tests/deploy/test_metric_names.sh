#!/usr/bin/env bash
# Every metric name the dashboards and alert rules use exists in what tycho
# exports on /metrics — here against fixtures/metrics.txt (the metric
# contract); the checker must also catch unknown names and bare histogram
# names. To check against a live tycho:
#   curl -s http://127.0.0.1:9090/metrics > scrape.txt && tests/deploy/check_metric_names scrape.txt
set -euo pipefail
# shellcheck source=tests/deploy/env.sh
source "$(dirname "$0")/env.sh"
d="$TYCHO_SRC/tests/deploy"

"$d/check_metric_names" "$d/fixtures/metrics.txt"

echo "--- the checker catches unknown names"
if out=$("$d/check_metric_names" "$d/fixtures/metrics.txt" "$d/fixtures/unknown-metrics-dashboard.json" "$d/fixtures/unknown-metrics.rules.yml"); then
  fail "check_metric_names accepted unknown metric names"
fi
for want in "tycho_http_requests_count" "tycho_http_request_duration_seconds (histogram" "tycho_nonexistent_total" "tycho_queue_depth_typo"; do
  grep -qF "$want" <<<"$out" || fail "check_metric_names did not report: $want"$'\n'"$out"
done
grep -qF "rate_interval" <<<"$out" && fail "check_metric_names reported a Grafana variable as a metric"$'\n'"$out"
grep -qF "loki_only_label" <<<"$out" && fail "check_metric_names checked a Loki query"$'\n'"$out"
echo "unknown names caught as expected"
