#!/bin/bash
# A real Prometheus (Debian `prometheus`) scrapes a running tycho's admin
# /metrics: the target is up, the request counter by route pattern matches
# the requests sent, and the latency histogram is usable by PromQL.
set -euo pipefail
: "${TYCHO_BIN:?}" "${TYCHO_SRC:?}"
# shellcheck source=tests/lib/wait.sh
. "$TYCHO_SRC/tests/lib/wait.sh"
PY=/usr/bin/python3
for bin in prometheus promtool curl "$PY"; do
    command -v "$bin" >/dev/null || { echo "FAIL: $bin not found (scripts/setup installs prometheus)"; exit 1; }
done
work=$(mktemp -d)
pids=()
cleanup() {
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
    for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
    rm -rf "$work"
}
trap cleanup EXIT
fail() { echo "FAIL: $*"; tail -5 "$work/prometheus.log" 2>/dev/null; exit 1; }

"$TYCHO_BIN" serve --routes "$TYCHO_SRC/routes" --listen 127.0.0.1:0 --admin-listen 127.0.0.1:0 \
    --workers 2 --data-dir "$work/data" > "$work/serve.log" 2>&1 &
pids+=($!)
wait_until 30 grep -q '"listening"' "$work/serve.log" || true
pub=$(grep -o '"public":"[^"]*"' "$work/serve.log" | head -1 | cut -d'"' -f4)
adm=$(grep -o '"admin":"[^"]*"' "$work/serve.log" | head -1 | cut -d'"' -f4)
[ -n "$pub" ] || fail "tycho did not start: $(head -3 "$work/serve.log")"
for _ in $(seq 25); do curl -sf "http://$pub/health" > /dev/null; done

curl -sf "http://$adm/metrics" > "$work/metrics.txt"
promtool check metrics < "$work/metrics.txt" > "$work/promtool.out" 2>&1 || fail "promtool: $(cat "$work/promtool.out")"
[ ! -s "$work/promtool.out" ] || fail "promtool findings: $(cat "$work/promtool.out")"

prom_port=$("$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
cat > "$work/prometheus.yml" <<YML
global:
  scrape_interval: 1s
  evaluation_interval: 1s
scrape_configs:
  - job_name: tycho
    static_configs:
      - targets: ["$adm"]
YML
prometheus --config.file="$work/prometheus.yml" --storage.tsdb.path="$work/tsdb" \
    --web.listen-address="127.0.0.1:$prom_port" > "$work/prometheus.log" 2>&1 &
pids+=($!)
value_of() {
    curl -fsS --get "http://127.0.0.1:$prom_port/api/v1/query" --data-urlencode "query=$1" 2>/dev/null |
        "$PY" -c 'import json,sys; r=json.load(sys.stdin)["data"]["result"]; print(r[0]["value"][1] if r else "")'
}
got=""
for _ in $(seq 150); do
    got=$(value_of 'sum(tycho_http_requests_total{job="tycho",route="/health",status="200"})' || true)
    [ "$got" = "25" ] && break
    sleep 0.2
done
[ "$got" = "25" ] || fail "expected 25 /health requests in Prometheus, got '$got'"
[ "$(value_of 'up{job="tycho"}')" = "1" ] || fail "target not up"
p99=$(value_of 'histogram_quantile(0.99, sum by (le) (tycho_http_request_duration_seconds_bucket{route="/health"}))')
[ -n "$p99" ] || fail "no latency quantile from the histogram"
echo "ok: Prometheus scraped tycho: 25 requests on /health, p99 bound ${p99}s"
