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

echo "--- a family declared by # TYPE alone (no series yet, as on a fresh tycho) is known"
cat >"$deploy_tmp/type-only.txt" <<'EOT'
# HELP t_seconds A labelled histogram before its first observation.
# TYPE t_seconds histogram
# TYPE t_total counter
# TYPE t_summary summary
EOT
rules() {
  printf 'groups:\n  - name: g\n    rules:\n      - record: r\n        expr: %s\n' "$1" >"$deploy_tmp/type-only.rules.yml"
  "$d/check_metric_names" "$deploy_tmp/type-only.txt" "$deploy_tmp/type-only.rules.yml"
}
rules 'rate(t_seconds_bucket[5m]) + rate(t_seconds_sum[5m]) + rate(t_seconds_count[5m]) + rate(t_total[5m]) + t_summary_sum + t_summary_count' ||
  fail "check_metric_names rejected names of families declared by # TYPE alone"
if out=$(rules 'rate(t_seconds[5m])'); then
  fail "check_metric_names accepted the bare name of a histogram declared by # TYPE alone"
fi
grep -qF "t_seconds (histogram" <<<"$out" || fail "check_metric_names did not report the bare histogram name"$'\n'"$out"
echo "TYPE-only families handled as expected"
