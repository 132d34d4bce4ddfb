#!/usr/bin/env bash
# The dashboards' Loki queries select the streams tycho really pushes: the
# reference app serves with the deployment's service name and static Loki
# labels (infra/lib/app-stack.ts) and pushes its lines (JSON format) to a
# capturing receiver; check_loki_selectors.py then holds every Loki target's
# stream selector to the pushed streams' labels and values (PromQL names are
# checked against a scrape by test_metric_names_live.sh).
# shellcheck source=tests/exporters/lib.sh
source "$(dirname "$0")/../exporters/lib.sh"

stack="$TYCHO_SRC/infra/lib/app-stack.ts"
service=$(sed -n "s/^ *OTEL_SERVICE_NAME: '\([^']*\)',.*/\1/p" "$stack")
labels=$(sed -n 's/^ *TYCHO_LOKI_LABELS: `\([^`]*\)`,.*/\1/p' "$stack")
[ -n "$service" ] || fail "$stack: no OTEL_SERVICE_NAME: '...' found"
[ -n "$labels" ] || fail "$stack: no TYCHO_LOKI_LABELS: \`...\` found"
grep -q "OTEL_SERVICE_NAME:-$service}" "$TYCHO_SRC/scripts/run" ||
    fail "scripts/run does not name the service '$service' as the deployment does"
# the deployment's label names, each with a value of this test's
labels=$(sed 's/\${[^}]*}/test/g' <<<"$labels")

start_receiver R
# SIMULATED_ERROR_RATE=1: /test-telemetry logs a warning; the sample lines
# come at every level the app writes
ROUTES="$TYCHO_SRC/routes" OTEL_SERVICE_NAME="$service" TYCHO_LOKI_LABELS="$labels" \
    TYCHO_LOKI_URL="http://127.0.0.1:$R_PORT/loki/api/v1/push" TYCHO_LOKI_FORMAT=json \
    TYCHO_LOKI_FLUSH_INTERVAL=0.2 SIMULATED_ERROR_RATE=1 SAMPLE_LOG_INTERVAL=0.1 SQS_CONSUMER=off \
    start_serve --workers 1
for path in / /test-telemetry /health /no-such-route; do
    curl -sS -o /dev/null --max-time 10 "http://$PUB$path" || fail "GET $path"
done
levels() {
    captured "$R_PORT" "$WORK/c.json"
    node -e '
const c = JSON.parse(require("fs").readFileSync(process.argv[1]));
const seen = new Set();
for (const r of c) for (const s of JSON.parse(Buffer.from(r.body, "base64")).streams) seen.add(s.stream.level);
process.exit(["info", "warn", "error"].every((l) => seen.has(l)) ? 0 : 1);' "$WORK/c.json"
}
for _ in $(seq 100); do levels && break; sleep 0.1; done
levels || fail "no info, warn and error lines pushed within 10 s: $(head -c 600 "$WORK/c.json")"
stop_pid "$SERVE"
captured "$R_PORT" "$WORK/c.json"

/usr/bin/python3 "$TYCHO_SRC/tests/deploy/check_loki_selectors.py" "$WORK/c.json" \
    "$TYCHO_SRC/grafana/dashboards" || fail "a dashboard's Loki query selects what tycho does not push"

# the check fails on a selector naming a label no stream has, and on a
# level variable missing a level tycho pushes
bad="$WORK/dashboards"
mkdir -p "$bad"
for edit in 's/service=\\"[^\\"]*\\"/app=\\"tycho\\"/' 's/"debug,info,warn,error"/"debug,info,warn"/'; do
    sed "$edit" "$TYCHO_SRC/grafana/dashboards/tycho-service.json" >"$bad/tycho-service.json"
    ! cmp -s "$bad/tycho-service.json" "$TYCHO_SRC/grafana/dashboards/tycho-service.json" ||
        fail "the edit $edit changed nothing"
    if /usr/bin/python3 "$TYCHO_SRC/tests/deploy/check_loki_selectors.py" "$WORK/c.json" "$bad"; then
        fail "check_loki_selectors.py accepted a dashboard edited with $edit"
    fi
done
echo "PASS"
