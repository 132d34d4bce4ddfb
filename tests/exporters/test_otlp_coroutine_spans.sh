#!/usr/bin/env bash
# Child spans started in a coroutine the handler made (routes_coroutines/),
# as the OTLP receiver gets them from the real server: a span whose
# coroutine is never resumed again is ended with its request and exported,
# marked tycho.span.closed_by_server, and parents nothing in the handler's
# own flow once its coroutine yielded (the server span is current again, for
# trace.current(), new spans and log lines); a coroutine resumed sees its
# span again, and its span ends unmarked.
source "$(dirname "$0")/lib.sh"
start_receiver R
OTEL_EXPORTER_OTLP_ENDPOINT="http://127.0.0.1:$R_PORT" OTEL_BSP_SCHEDULE_DELAY=100 \
    OTEL_TRACES_SAMPLER=always_on ROUTES="$EXP_DIR/routes_coroutines" start_serve --workers 1
a=$(curl -sf "http://$PUB/abandoned") || fail "GET /abandoned failed: $(tail -5 "$WORK/serve.log")"
b=$(curl -sf "http://$PUB/resumed") || fail "GET /resumed failed: $(tail -5 "$WORK/serve.log")"
echo "abandoned: $a"
echo "resumed: $b"
for _ in $(seq 100); do
    captured "$R_PORT" "$WORK/c.json"
    rc=0
    node - "$WORK/c.json" "$EXP_DIR/decoders.js" "$a" "$b" "$WORK/serve.log" <<'JS' || rc=$?
const fs = require('fs');
const [file, decoders, aBody, bBody, logFile] = process.argv.slice(2);
const {decodeOtlp, attrMap} = require(decoders);
const spans = [];
for (const r of JSON.parse(fs.readFileSync(file)))
  for (const rs of decodeOtlp(Buffer.from(r.body, 'base64')).resourceSpans)
    for (const ss of rs.scopeSpans) for (const sp of ss.spans) spans.push(sp);
const named = (n) => spans.filter((s) => s.name === n);
if (spans.length < 5) process.exit(2); // not all exported yet
const fail = (m) => { console.error('FAIL:', m, JSON.stringify(spans.map((s) => [s.name, s.spanId, s.parentSpanId]))); process.exit(1); };
const one = (n) => { const l = named(n); if (l.length !== 1) fail(`${l.length} spans named ${n}`); return l[0]; };
const a = JSON.parse(aBody), b = JSON.parse(bBody);

const server = one('GET /abandoned'), inner = one('in coroutine'), after = one('after');
if (inner.spanId !== a.inner) fail('the coroutine\'s span is not the one it saw');
if (inner.parentSpanId !== server.spanId) fail('the coroutine\'s span is not a child of the server span');
const ia = attrMap(inner.attributes);
if (ia['tycho.span.closed_by_server'] !== true) fail(`not marked closed by the server: ${JSON.stringify(ia)}`);
if (BigInt(inner.endTimeUnixNano) > BigInt(server.endTimeUnixNano)) fail('ends after its request');
if (a.current !== server.spanId) fail(`current after the yield is ${a.current}, not the server span`);
if (after.parentSpanId !== server.spanId) fail('"after" is parented on the suspended coroutine\'s span');
if ('tycho.span.closed_by_server' in attrMap(after.attributes)) fail('"after" marked');
// log lines of the main flow name the span current there
const lines = fs.readFileSync(logFile, 'utf8').split('\n').filter((l) => l.startsWith('{'))
  .map((l) => JSON.parse(l));
const line = (m) => { const l = lines.find((x) => x.msg === m); if (!l) fail(`no "${m}" line`); return l; };
if (line('main flow').span_id !== server.spanId) fail('"main flow" logged with another span id');
if (line('inside after').span_id !== after.spanId) fail('"inside after" logged with another span id');

const rserver = one('GET /resumed'), resumed = one('resumed');
if (b.first !== resumed.spanId || b.again !== resumed.spanId) fail('the resumed coroutine lost its span');
if (b.between !== rserver.spanId || b.after !== rserver.spanId) fail('the handler saw the coroutine\'s span');
if (resumed.parentSpanId !== rserver.spanId) fail('resumed: wrong parent');
if ('tycho.span.closed_by_server' in attrMap(resumed.attributes)) fail('a span its code ended is marked');
JS
    [ "$rc" = 2 ] || break
    sleep 0.1
done
[ "$rc" = 0 ] || fail "coroutine spans"
echo "PASS"
