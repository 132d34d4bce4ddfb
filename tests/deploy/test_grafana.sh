#!/usr/bin/env bash
# grafana/: alert rules pass promtool (syntax and unit tests), dashboard
# queries pass their promtool unit tests (grafana/tests/), provisioning
# and dashboards are loadable and consistent (check_grafana.py), and the
# checker itself rejects a broken copy.
set -euo pipefail
# shellcheck source=tests/deploy/env.sh
source "$(dirname "$0")/env.sh"
g="$TYCHO_SRC/grafana"

echo "--- promtool check rules"
promtool check rules "$g"/alerts/*.yml
echo "--- promtool test rules"
promtool test rules "$g"/alerts/tests/*.yml

echo "--- dashboard queries (grafana/tests/*.test.yml, through promtool test rules)"
for spec in "$g"/tests/*.test.yml; do
  out="$deploy_tmp/$(basename "$spec")"
  "$PY" "$TYCHO_SRC/tests/deploy/dashboard_queries.py" "$spec" "$out"
  promtool test rules "$out"
done

echo "--- README \"Local use\": the Prometheus config it writes passes promtool check config"
mkdir "$deploy_tmp/recipe"
configs=$(cd "$TYCHO_SRC" && "$PY" "$TYCHO_SRC/tests/deploy/readme_heredocs.py" "$g/README.md" "$deploy_tmp/recipe") ||
  fail "grafana/README.md: a recipe heredoc does not run as written"
grep -q 'prometheus.yml$' <<<"$configs" || fail "grafana/README.md no longer writes prometheus.yml"
promtool check config "$deploy_tmp/recipe/prometheus.yml"
grep -q "$TYCHO_SRC/grafana/alerts/tycho.rules.yml" "$deploy_tmp/recipe/prometheus.yml" ||
  fail "the README's prometheus.yml does not load the alert rules of this checkout"

echo "--- dashboards, data sources, images, Loki config"
"$PY" "$TYCHO_SRC/tests/deploy/check_grafana.py" "$g"

echo "--- the checker rejects a broken copy"
bad="$deploy_tmp/grafana"
cp -r "$g" "$bad"
"$PY" - "$bad" <<'PYEOF'
import json, sys, glob
files = sorted(glob.glob(sys.argv[1] + "/dashboards/*.json"))
a, b = json.load(open(files[0])), json.load(open(files[1]))
b["uid"] = a["uid"]                                            # duplicate uid
a["panels"][1]["datasource"] = {"type": "prometheus", "uid": "no-such-ds"}   # unknown data source
a["schemaVersion"] = 16
json.dump(a, open(files[0], "w")); json.dump(b, open(files[1], "w"))
ds = sys.argv[1] + "/provisioning/datasources/datasources.yaml"
text = open(ds).read()
assert "urlDisplayLabel: View trace in X-Ray (sampled requests only)" in text
open(ds, "w").write(text.replace("urlDisplayLabel: View trace in X-Ray (sampled requests only)",
                                 "urlDisplayLabel: View trace in X-Ray"))          # link promises every trace
PYEOF
sed -i 's/plugins install grafana-x-ray-datasource "${XRAY_PLUGIN_VERSION}"/plugins install grafana-x-ray-datasource/' "$bad/Dockerfile"
grep -q 'plugins install grafana-x-ray-datasource \\$' "$bad/Dockerfile" || fail "could not unpin the X-Ray plugin in the copy"
if out=$("$PY" "$TYCHO_SRC/tests/deploy/check_grafana.py" "$bad"); then
  fail "check_grafana.py accepted a broken copy"
fi
for want in "also used by" "no-such-ds" "schemaVersion" "only sampled requests have a trace" \
  "grafana-x-ray-datasource is installed without a pinned x.y.z version"; do
  grep -q "$want" <<<"$out" || fail "check_grafana.py did not report: $want"$'\n'"$out"
done
echo "broken copy rejected as expected"
