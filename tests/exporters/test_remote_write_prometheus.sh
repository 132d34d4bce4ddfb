#!/usr/bin/env bash
# Prometheus remote write into a real receiver: Debian prometheus with
# --web.enable-remote-write-receiver takes tycho's WriteRequests (snappy
# block, the four headers) and PromQL returns the series with the expected
# labels and values: a counter after N increments, histogram buckets, _sum
# and _count, a gauge, and the exporter's own counters; and stale markers
# that end every series at shutdown, and a redefined metric's old series at
# the next push.
source "$(dirname "$0")/lib.sh"
start_prometheus

export TYCHO_REMOTE_WRITE_URL="http://127.0.0.1:$PROM_PORT/api/v1/write"
export TYCHO_REMOTE_WRITE_INTERVAL=0.5
export TYCHO_REMOTE_WRITE_JOB=tycho-test
"$DRIVER" counter 7 hist 0.05,0.3,0.7,2 gauge 21.5 sleep 1200 counter 5 gauge 22.25 sleep 1200 \
    status shutdown 3000 >"$WORK/d.out" || fail "driver failed: $(cat "$WORK/d.out")"
st=$(last_status "$WORK/d.out")
echo "status: $st"
[ "$(jsget "$st" 's.exporters.metrics.dropped')" = 0 ] || fail "samples dropped: $st"
[ "$(jsget "$st" 's.exporters.metrics.last_error')" = null ] || fail "an error: $st"

host=$(hostname)
# At shutdown tycho sent the final values, then a stale marker for each
# series 1 ms later: now the series are gone from instant queries, and the
# values below are read at the time of the last samples.
r=$(promql 'tycho_driver_requests_total[5m]') || fail "range query failed"
AT=$(node -e 'const r = JSON.parse(process.argv[1]); const v = r[0].values; console.log(v[v.length - 1][0])' "$r")
[ -n "$AT" ] || fail "no samples of tycho_driver_requests_total: $r"
for q in tycho_driver_requests_total tycho_driver_temperature tycho_driver_latency_seconds_count \
    'tycho_telemetry_exported_total{signal="metrics"}'; do
    r=$(promql "$q") || fail "query $q failed"
    [ "$r" = "[]" ] || fail "$q after shutdown: $r, want nothing (a stale marker ends each series)"
done
echo "  ok: every series ended by a stale marker at shutdown"
check() { # QUERY NODE-ASSERTION: at the last samples' time
    local r
    r=$(promql "$1" "$AT") || fail "query $1 failed"
    node -e '
const r = JSON.parse(process.argv[1]); const assert = require("assert/strict");
const host = process.argv[3];
try { eval(process.argv[2]); } catch (e) { console.error(`${process.argv[4]} -> ${JSON.stringify(r)}`); throw e; }' \
        "$r" "$2" "$host" "$1" || fail "assertion on $1"
    echo "  ok: $1"
}
check 'tycho_driver_requests_total' '
assert.equal(r.length, 1);
assert.deepEqual(r[0].metric, {__name__: "tycho_driver_requests_total", instance: host + ":8080",
                               job: "tycho-test", route: "/items/:id"});
assert.equal(r[0].value[1], "12");'
check 'tycho_driver_temperature' '
assert.equal(r.length, 1); assert.equal(r[0].value[1], "22.25");
assert.deepEqual(r[0].metric, {__name__: "tycho_driver_temperature", instance: host + ":8080",
                               job: "tycho-test", room: "lab"});'
check 'tycho_driver_latency_seconds_bucket' '
const got = Object.fromEntries(r.map((s) => [s.metric.le, s.value[1]]));
assert.deepEqual(got, {"0.1": "1", "0.5": "2", "1": "3", "+Inf": "4"});
for (const s of r) assert.equal(s.metric.route, "/items/:id");'
check 'tycho_driver_latency_seconds_sum' 'assert.equal(r.length, 1); assert.equal(Number(r[0].value[1]), 3.05);'
check 'tycho_driver_latency_seconds_count' 'assert.equal(r.length, 1); assert.equal(r[0].value[1], "4");'
check 'histogram_quantile(0.5, sum by (le) (tycho_driver_latency_seconds_bucket))' '
assert.equal(r.length, 1); assert.ok(Number(r[0].value[1]) > 0.1 && Number(r[0].value[1]) <= 0.5);'
check 'tycho_telemetry_exported_total{signal="metrics"}' '
assert.equal(r.length, 1); assert.ok(Number(r[0].value[1]) > 0);'
check 'count_over_time(tycho_driver_requests_total[1m])' '
assert.ok(Number(r[0].value[1]) >= 3, "several pushes at the interval");'
check 'tycho_telemetry_dropped_total{signal="metrics",reason="export_failed"}' '
assert.equal(r.length, 1); assert.equal(r[0].value[1], "0");'
# A reload that redefines a metric (regauge: other labels) ends its old
# series at the next push: a stale marker 1 ms after the new series' first
# sample, long before the shutdown 1.5 s later.
export TYCHO_REMOTE_WRITE_JOB=tycho-regauge
"$DRIVER" gauge 21.5 sleep 1200 regauge 19 sleep 1500 shutdown 3000 >"$WORK/r.out" ||
    fail "driver (regauge) failed: $(cat "$WORK/r.out")"
r=$(promql 'tycho_driver_temperature{job="tycho-regauge",floor="3"}[5m]') || fail "range query failed"
FIRST=$(node -e 'const r = JSON.parse(process.argv[1]); console.log(r[0].values[0][0])' "$r")
[ -n "$FIRST" ] || fail "no samples of the redefined gauge: $r"
old_at() { promql 'tycho_driver_temperature{job="tycho-regauge",floor=""}' "$1"; }
[ "$(jsget "$(old_at "$(node -e "console.log($FIRST - 0.2)")")" 's.length === 1 && s[0].value[1]')" = 21.5 ] ||
    fail "the old series before the redefinition: $(old_at "$(node -e "console.log($FIRST - 0.2)")")"
MID=$(node -e "console.log($FIRST + 0.5)")
[ "$(old_at "$MID")" = "[]" ] || fail "the old series after the redefinition: $(old_at "$MID"), want nothing"
r=$(promql 'tycho_driver_temperature{job="tycho-regauge",floor="3"}' "$MID")
[ "$(jsget "$r" 's.length === 1 && s[0].value[1]')" = 19 ] || fail "the new series: $r"
echo "  ok: a redefined metric's old series ended at the next push"
echo "PASS"
