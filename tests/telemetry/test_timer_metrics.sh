#!/usr/bin/env bash
# Timer runs are counted on /metrics (docs/routes.md, "Timers"):
# tycho_timer_runs_total{timer,outcome} for ok, error, timeout and cut runs,
# at 0 from the declaration for a timer that has not run;
# tycho_timer_skipped_total{timer} for ticks a still-going run skipped;
# tycho_timer_run_duration_seconds{timer}. A run the drain timeout cuts is
# counted "cut" in the final remote-write push. Real server
# (routes_timer_metrics/), its admin /metrics, a real remote-write receiver
# (receiver.js) and the tests' remote-write decoder.
source "$(dirname "$0")/../exporters/lib.sh"
start_receiver R
TYCHO_DRAIN_TIMEOUT=1 TYCHO_REMOTE_WRITE_URL="http://127.0.0.1:$R_PORT/api/v1/write" \
    TYCHO_REMOTE_WRITE_INTERVAL=60 \
    ROUTES="$TYCHO_SRC/tests/telemetry/routes_timer_metrics" start_serve --workers 2 --no-reload

# check_scrape FILE: 0 once every timer shows what it should, 2 while some
# runs are still to come, 1 (with the reason) when a figure is wrong.
check_scrape() {
    /usr/bin/python3 - "$1" <<'PY'
import re, sys
text = open(sys.argv[1]).read()
def val(name, **labels):
    want = ",".join('%s="%s"' % kv for kv in sorted(labels.items()))
    for line in text.splitlines():
        m = re.match(r'^(\w+)\{([^}]*)\} (\S+)$', line)
        if m and m.group(1) == name and ",".join(sorted(m.group(2).split(","))) == want:
            return float(m.group(3))
    return None
def bad(msg):
    print("FAIL: " + msg)
    sys.exit(1)
runs = lambda t, o: val("tycho_timer_runs_total", timer=t, outcome=o)
# every declared timer has all its series from the start, at 0 where nothing happened
for t in ("works", "fails", "stuck", "slow", "idle", "long-job"):
    for o in ("ok", "error", "timeout", "cut"):
        if runs(t, o) is None: bad("no tycho_timer_runs_total series for %s/%s" % (t, o))
    if val("tycho_timer_skipped_total", timer=t) is None: bad("no skipped series for " + t)
for o in ("ok", "error", "timeout", "cut"):
    if runs("idle", o) != 0: bad("idle has %s runs: %s" % (o, runs("idle", o)))
# each outcome where it belongs, nowhere else
if runs("works", "error") or runs("works", "timeout"): bad("works failed")
if runs("fails", "ok") or runs("fails", "timeout"): bad("fails counted ok/timeout")
if runs("stuck", "ok") or runs("stuck", "error"): bad("stuck counted ok/error")
if runs("slow", "error") or runs("slow", "timeout"): bad("slow failed")
if val("tycho_timer_skipped_total", timer="works"): bad("works skipped a tick")
if (runs("works", "ok") < 3 or runs("fails", "error") < 3 or runs("stuck", "timeout") < 2
        or runs("slow", "ok") < 2 or val("tycho_timer_skipped_total", timer="slow") < 2):
    sys.exit(2)
# a timer that ran has its durations (one that has not yet, as idle, has none)
dur = lambda t, part: val("tycho_timer_run_duration_seconds_" + part, timer=t)
for t in ("works", "fails", "stuck", "slow"):
    if dur(t, "count") is None: bad("no duration histogram for " + t)
# the histogram counts every run, and their lengths (a libuv timer counts
# from the loop's cached time, so a sleep or timeout may end a few ms early)
if dur("works", "count") < runs("works", "ok"): bad("works: fewer durations than runs")
if dur("stuck", "sum") < 0.09 * dur("stuck", "count"): bad("stuck runs shorter than their timeout")
if dur("slow", "sum") < 0.1 * dur("slow", "count"): bad("slow runs shorter than their sleep")
if dur("works", "sum") > 0.05 * dur("works", "count"): bad("works runs longer than a tick")
print("ok: works %d, fails %d, stuck %d, slow %d (skipped %d)" % (runs("works", "ok"),
      runs("fails", "error"), runs("stuck", "timeout"), runs("slow", "ok"),
      val("tycho_timer_skipped_total", timer="slow")))
PY
}

rc=2
for _ in $(seq 100); do
    curl -sf "http://$ADM/metrics" >"$WORK/m.txt" || fail "no /metrics on $ADM"
    rc=0
    check_scrape "$WORK/m.txt" || rc=$?
    [ "$rc" = 2 ] || break
    sleep 0.1
done
[ "$rc" = 0 ] || fail "timer metrics (rc $rc): $(grep tycho_timer_ "$WORK/m.txt" | head -40)"

echo "--- the drain timeout cuts long-job's run: counted cut in the final push"
grep -q '"long job started"' "$WORK/serve.log" || fail "long-job never ran"
kill -TERM "$SERVE"
wait "$SERVE" || fail "tycho exited $?: $(tail -3 "$WORK/serve.log")"
take_captured "$R_PORT" "$WORK/rw.json"
node - "$WORK/rw.json" "$EXP_DIR/decoders.js" <<'JS' || fail "the cut run was not counted in the final push"
const [file, decoders] = process.argv.slice(2);
const {decodeRemoteWrite} = require(decoders);
const reqs = JSON.parse(require('fs').readFileSync(file)).filter((r) => r.path === '/api/v1/write');
let last = null;
for (const r of reqs)
  for (const ts of decodeRemoteWrite(Buffer.from(r.body, 'base64')).timeseries) {
    const l = Object.fromEntries(ts.labels.map((x) => [x.name, x.value]));
    if (l.__name__ === 'tycho_timer_runs_total' && l.timer === 'long-job' && l.outcome === 'cut')
      for (const s of ts.samples) if (!Number.isNaN(s.value)) last = s.value;
  }
if (last !== 1) { console.error(`long-job cut: ${last} (want 1)`); process.exit(1); }
console.log('ok: long-job cut 1 in the final push');
JS
echo "PASS"
