#!/bin/bash
# The Prometheus text exposition passes `promtool check metrics` with no
# finding, and a real Prometheus scrapes it and reads back known values.
# Needs the Debian package `prometheus` (promtool comes with it).
set -euo pipefail

BUILD=${TYCHO_BUILD:?TYCHO_BUILD not set}
DUMP=$BUILD/tools/telemetry_dump
PY=/usr/bin/python3 # the Debian python; PATH may hold another one
for bin in promtool prometheus curl "$PY" "$DUMP"; do
    command -v "$bin" >/dev/null || { echo "FAIL: $bin not found (install the Debian package prometheus)"; exit 1; }
done

work=$(mktemp -d)
pids=()
cleanup() {
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
    for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
    rm -rf "$work"
}
trap cleanup EXIT

mkdir -p "$work/www"
"$DUMP" > "$work/www/metrics"

# 1. promtool: rc 0 and not a single lint finding.
if ! promtool check metrics < "$work/www/metrics" > "$work/promtool.out" 2>&1; then
    echo "FAIL: promtool check metrics:"; cat "$work/promtool.out"; exit 1
fi
if [ -s "$work/promtool.out" ]; then
    echo "FAIL: promtool findings:"; cat "$work/promtool.out"; exit 1
fi
echo "ok: promtool check metrics, no findings ($(grep -vc '^#' "$work/www/metrics") samples)"

# 2. A real Prometheus scrapes it from a static HTTP server.
free_port() { "$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
web_port=$(free_port)
prom_port=$(free_port)
"$PY" -m http.server "$web_port" --bind 127.0.0.1 --directory "$work/www" > "$work/http.log" 2>&1 &
pids+=($!)
cat > "$work/prometheus.yml" <<YML
global:
  scrape_interval: 1s
  evaluation_interval: 1s
scrape_configs:
  - job_name: tycho_dump
    metrics_path: /metrics
    static_configs:
      - targets: ["127.0.0.1:$web_port"]
YML
promtool check config "$work/prometheus.yml" > /dev/null
prometheus --config.file="$work/prometheus.yml" --storage.tsdb.path="$work/data" \
    --web.listen-address="127.0.0.1:$prom_port" > "$work/prometheus.log" 2>&1 &
pids+=($!)

api="http://127.0.0.1:$prom_port/api/v1/query"
query() { curl -fsS --get "$api" --data-urlencode "query=$1"; }
value_of() { query "$1" | "$PY" -c 'import json,sys; r=json.load(sys.stdin)["data"]["result"]; print(r[0]["value"][1] if r else "")'; }

deadline=$((SECONDS + 60))
got=""
while [ $SECONDS -lt $deadline ]; do
    got=$(value_of 'tycho_demo_requests_total{method="GET",route="/users/:id",status="200",job="tycho_dump"}' 2>/dev/null || true)
    [ -n "$got" ] && break
    sleep 0.5
done
if [ "$got" != "42" ]; then
    echo "FAIL: expected 42 from Prometheus, got '$got'"; tail -20 "$work/prometheus.log"; exit 1
fi
echo "ok: Prometheus scraped tycho_demo_requests_total = 42"

check() { # query expected
    local v
    v=$(value_of "$1")
    if [ "$v" != "$2" ]; then echo "FAIL: $1 = '$v', want '$2'"; exit 1; fi
    echo "ok: $1 = $v"
}
check 'up{job="tycho_dump"}' 1
check 'tycho_demo_request_duration_seconds_count{route="/users/:id"}' 30
check 'tycho_demo_request_duration_seconds_bucket{route="/users/:id",le="+Inf"}' 30
check 'tycho_demo_response_size_bytes_bucket{le="1000"}' 1
check 'tycho_demo_response_size_bytes_bucket{le="10000"}' 3
check 'tycho_demo_inflight_requests' 6
check 'tycho_demo_route_generation' 7
check 'tycho_demo_temperature_celsius' -12.25
check 'tycho_demo_bytes_total' 100000000000000000000
check 'count(tycho_demo_by_user_total)' 6
check 'tycho_demo_by_user_total{user="__overflow__"}' 15
check 'tycho_metrics_overflow_total{metric="tycho_demo_by_user_total"}' 15
check 'tycho_telemetry_dropped_total{signal="spans",reason="queue_full"}' 3
# The escaped label value came through byte for byte.
check 'tycho_demo_requests_total{route="/odd \"label\" \\ value\nhere é"}' 1
# Prometheus itself found nothing wrong with the scrape.
check 'scrape_samples_scraped{job="tycho_dump"}' "$(grep -vc '^#' "$work/www/metrics")"
