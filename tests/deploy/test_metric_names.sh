#!/usr/bin/env bash
# Every metric name the dashboards and alert rules use exists in what tycho
# exports on /metrics — here against fixtures/metrics.txt (the metric
# contract); the checker must also catch unknown names, bare histogram
# names and labels the metrics do not have. To check against a live tycho:
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
for want in "no label 'outcom' (it has operation, outcome, service)" "grouping label 'servce' is on none of aws_requests_total" \
  "legend label 'operaton' is on none of aws_requests_total" "label_values label 'rout' is on none of tycho_http_requests_total" \
  "tycho_sqs_queue_depth: no label 'queue_name'"; do
  grep -qF "$want" <<<"$out" || fail "check_metric_names did not report the label: $want"$'\n'"$out"
done
grep -qF "rate_interval" <<<"$out" && fail "check_metric_names reported a Grafana variable as a metric"$'\n'"$out"
grep -qF "loki_only_label" <<<"$out" && fail "check_metric_names checked a Loki query"$'\n'"$out"
echo "unknown names and labels caught as expected"

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

echo "--- every family of the contract is documented: tycho's in docs/telemetry.md, the app's in README.md"
app=$(grep -rhoE 'metrics\.(counter|gauge|histogram)\("[a-zA-Z_:]+"' "$TYCHO_SRC/routes" | sed -E 's/.*\("//; s/"$//' | sort -u)
[ -n "$app" ] || fail "found no metric registered by routes/"
undocumented=
for fam in $(awk '$1 == "#" && $2 == "TYPE" { print $3 }' "$d/fixtures/metrics.txt"); do
  if grep -qx "$fam" <<<"$app"; then doc=README.md; else doc=docs/telemetry.md; fi
  grep -qF "\`$fam\`" "$TYCHO_SRC/$doc" || undocumented+=" $fam ($doc)"
done
[ -z "$undocumented" ] || fail "families of fixtures/metrics.txt not documented:$undocumented"
echo "every family documented"

echo "--- every drop reason is explained in docs/telemetry.md and in TychoTelemetryDropping"
reasons=$(grep -oE '^tycho_telemetry_dropped_total\{[^}]*reason="[a-z_]+"' "$d/fixtures/metrics.txt" | sed -E 's/.*reason="//; s/"$//' | sort -u)
[ "$(wc -l <<<"$reasons")" -ge 6 ] || fail "fixtures/metrics.txt lists fewer than 6 drop reasons: $reasons"
alert=$(grep -A8 'alert: TychoTelemetryDropping' "$TYCHO_SRC/grafana/alerts/tycho.rules.yml")
for r in $reasons; do
  grep -qF "| \`$r\` |" "$TYCHO_SRC/docs/telemetry.md" || fail "drop reason $r not in docs/telemetry.md's table"
  grep -qF "$r:" <<<"$alert" || fail "drop reason $r not explained by TychoTelemetryDropping"
done
echo "every drop reason explained"
