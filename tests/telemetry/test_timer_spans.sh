#!/usr/bin/env bash
# A timer's run is traced like a request (docs/routes.md, "Timers"): each run
# is the root span "timer <name>" (INTERNAL, tycho.timer.name), the
# tycho.http call it makes is its CLIENT child and carries its trace to the
# server called (the receiver sees a traceparent naming that trace and the
# call's span), a tycho.trace span in it is its child, its log lines carry
# its trace and span ids, and a run that raises ends its span in ERROR with
# the exception. Real server (routes_timers/), real OTLP receiver
# (receiver.js), spans decoded by the tests' OTLP decoder.
source "$(dirname "$0")/../exporters/lib.sh"
start_receiver R
TIMER_TARGET="http://127.0.0.1:$R_PORT" OTEL_EXPORTER_OTLP_ENDPOINT="http://127.0.0.1:$R_PORT" \
    OTEL_BSP_SCHEDULE_DELAY=100 OTEL_TRACES_SAMPLER=always_on \
    ROUTES="$TYCHO_SRC/tests/telemetry/routes_timers" start_serve --workers 1
for _ in $(seq 60); do
    captured "$R_PORT" "$WORK/c.json"
    rc=0
    node - "$WORK/c.json" "$EXP_DIR/decoders.js" "$WORK/serve.log" <<'JS' || rc=$?
const fs = require('fs');
const [file, decoders, logFile] = process.argv.slice(2);
const {decodeOtlp, attrMap} = require(decoders);
const reqs = JSON.parse(fs.readFileSync(file));
const spans = [];
for (const r of reqs.filter((x) => x.path === '/v1/traces'))
  for (const rs of decodeOtlp(Buffer.from(r.body, 'base64')).resourceSpans)
    for (const ss of rs.scopeSpans) for (const sp of ss.spans) spans.push(sp);
const calls = reqs.filter((x) => x.path === '/from-timer');
const named = (n) => spans.filter((s) => s.name === n);
// a run of each timer, with the call's and the inner span, exported
const done = calls.some((c) => {
  const tp = /^00-([0-9a-f]{32})-([0-9a-f]{16})-0[13]$/.exec(c.headers.traceparent || '');
  return tp && named('timer call-out').some((s) => s.traceId === tp[1]);
});
if (!done || !named('timer fails').length || !named('after the call').length) process.exit(2);
const fail = (m) => {
  console.error('FAIL:', m, JSON.stringify(spans.map((s) => [s.name, s.traceId, s.spanId, s.parentSpanId])));
  process.exit(1);
};
const INTERNAL = 1, CLIENT = 3, ERROR = 2;

// every call the receiver got carries the trace of a "timer call-out" span,
// and names that run's CLIENT span as its parent
let checked = 0;
for (const c of calls) {
  const tp = /^00-([0-9a-f]{32})-([0-9a-f]{16})-0[13]$/.exec(c.headers.traceparent || '');
  if (!tp) fail(`a call from the timer without a sampled traceparent: ${JSON.stringify(c.headers)}`);
  const root = named('timer call-out').find((s) => s.traceId === tp[1]);
  if (!root) continue; // that run's spans are not exported yet
  const client = spans.find((s) => s.spanId === tp[2]);
  if (!client) continue;
  if (client.kind !== CLIENT || client.parentSpanId !== root.spanId || client.traceId !== root.traceId)
    fail(`the call's span ${JSON.stringify([client.name, client.kind, client.parentSpanId])} is not the run's CLIENT child`);
  if (root.parentSpanId) fail('a timer run\'s span has a parent');
  if (root.kind !== INTERNAL) fail(`timer span kind ${root.kind}`);
  if (attrMap(root.attributes)['tycho.timer.name'] !== 'call-out') fail('no tycho.timer.name');
  if ((root.status || {}).code === ERROR) fail('a run that worked ends in ERROR');
  const inner = spans.find((s) => s.name === 'after the call' && s.traceId === root.traceId);
  if (inner && inner.parentSpanId !== root.spanId) fail('the tycho.trace span is not the run\'s child');
  checked++;
}
if (!checked) process.exit(2);
// two runs, two traces
const traces = new Set(named('timer call-out').map((s) => s.traceId));
if (traces.size !== named('timer call-out').length) fail('two timer runs share a trace');

const failed = named('timer fails')[0];
if ((failed.status || {}).code !== ERROR || !/timer boom/.test(failed.status.message || ''))
  fail(`a run that raised: status ${JSON.stringify(failed.status)}`);
const ev = (failed.events || []).find((e) => e.name === 'exception');
if (!ev || !/timer boom/.test(attrMap(ev.attributes)['exception.message'] || ''))
  fail('no exception event on the failed run');
if (attrMap(failed.attributes)['error.type'] !== 'LuaError') fail('error.type of the failed run');

// log lines: the run's own, and its failure line, carry its trace
const lines = fs.readFileSync(logFile, 'utf8').split('\n').filter((l) => l.startsWith('{'))
  .map((l) => JSON.parse(l));
const called = lines.find((l) => l.msg === 'timer called out' &&
                          spans.some((s) => s.name === 'after the call' && s.spanId === l.span_id));
if (!called) fail('no "timer called out" line naming its span');
const boom = lines.find((l) => l.msg === 'timer handler failed' && l.trace_id === failed.traceId);
if (!boom || boom.span_id !== failed.spanId) fail('the failure line does not carry the run\'s trace');
console.log(`${calls.length} calls, ${checked} checked against their timer run`);
JS
    [ "$rc" = 2 ] || break
    sleep 0.2
done
[ "$rc" = 0 ] || fail "timer spans (rc $rc): $(tail -3 "$WORK/serve.log")"

echo "--- not sampled: the calls still go, with a traceparent saying so, and no span"
stop_pid "$SERVE"
reset_captured "$R_PORT"
TIMER_TARGET="http://127.0.0.1:$R_PORT" OTEL_EXPORTER_OTLP_ENDPOINT="http://127.0.0.1:$R_PORT" \
    OTEL_BSP_SCHEDULE_DELAY=100 OTEL_TRACES_SAMPLER=always_off \
    ROUTES="$TYCHO_SRC/tests/telemetry/routes_timers" start_serve --workers 1
wait_lines "$WORK/serve.log" '"timer called out"' 2
stop_pid "$SERVE"
take_captured "$R_PORT" "$WORK/off.json"
node -e '
const reqs = JSON.parse(require("fs").readFileSync(process.argv[1]));
const calls = reqs.filter((r) => r.path === "/from-timer");
if (calls.length < 2) throw new Error(calls.length + " calls");
for (const c of calls)
  if (!/^00-[0-9a-f]{32}-[0-9a-f]{16}-0[02]$/.test(c.headers.traceparent || ""))
    throw new Error("traceparent of an unsampled run: " + c.headers.traceparent);
if (reqs.some((r) => r.path === "/v1/traces")) throw new Error("spans exported with always_off");' \
    "$WORK/off.json" || fail "unsampled timer runs"
echo "PASS"
