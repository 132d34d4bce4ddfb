// Checks the Loki pushes a receiver captured, decoded independently
// (decoders.js: snappyjs + a protobufjs schema written from Loki's push.proto,
// or plain JSON). usage:
//   node loki_check.js CAPTURED.json proto|json INPUT_LINES EXTRA_GENERATED_LINES
// INPUT_LINES is tests/exporters/loki_lines.txt (crafted cases); the driver's
// generated lines ("logs N") come on top.
'use strict';
const fs = require('fs');
const assert = require('assert/strict');
const {decodeLoki, decodeLokiJson, parseSelector} = require('./decoders.js');

const [file, format, inputFile, extra] = process.argv.slice(2);
const reqs = JSON.parse(fs.readFileSync(file));
const input = fs.readFileSync(inputFile, 'utf8').split('\n').filter((l) => l.length);
assert.ok(reqs.length >= 1, 'no push captured');

const seen = new Map(); // line -> {labels, entry}
for (const r of reqs) {
  assert.equal(r.method, 'POST');
  assert.equal(r.path, '/loki/api/v1/push');
  assert.equal(r.headers['x-scope-orgid'], 'team-a');
  const body = Buffer.from(r.body, 'base64');
  let streams;
  if (format === 'proto') {
    assert.equal(r.headers['content-type'], 'application/x-protobuf');
    assert.equal(r.headers['content-encoding'], 'snappy');
    streams = decodeLoki(body);
  } else {
    assert.equal(r.headers['content-type'], 'application/json');
    assert.ok(!r.headers['content-encoding']);
    streams = decodeLokiJson(body);
  }
  const keys = new Set();
  for (const s of streams) {
    const labels = s.stream || parseSelector(s.labels);
    assert.deepEqual(Object.keys(labels).sort(), ['env', 'level', 'region', 'service'],
                     `labels of ${s.labels}`);
    assert.equal(labels.env, 'test');
    assert.equal(labels.region, 'eu-west');
    const key = JSON.stringify(labels);
    assert.ok(!keys.has(key), `stream ${key} twice in one push`);
    keys.add(key);
    let prev = -1n;
    for (const e of s.entries) {
      assert.ok(e.ts >= prev, `entries of ${s.labels} out of timestamp order`);
      prev = e.ts;
      assert.ok(!seen.has(e.line), `line delivered twice: ${e.line}`);
      seen.set(e.line, {labels, e});
    }
  }
}

const get = (msg) => {
  for (const [line, v] of seen) if (line.includes(`"msg":"${msg}"`)) return v;
  throw new Error(`line "${msg}" not delivered`);
};
const ns = (iso, frac) => BigInt(Date.parse(iso)) * 1000000n + BigInt(frac || 0);

for (const l of input) assert.ok(seen.has(l), `input line not delivered verbatim: ${l}`);
assert.equal(seen.size, input.length + Number(extra), 'lines delivered');

// LOKI_NO_METADATA=1 (TYCHO_LOKI_STRUCTURED_METADATA=off): the ids stay in
// the lines, no entry carries structured metadata
const meta = (m) => (process.env.LOKI_NO_METADATA ? {} : m);

let v = get('a');
assert.deepEqual({...v.labels}, {env: 'test', level: 'info', region: 'eu-west', service: 'api'});
assert.equal(v.e.ts, ns('2026-01-01T00:00:01Z', 1));
assert.deepEqual(v.e.meta, meta({trace_id: 't1', span_id: 's1', request_id: 'r1'}));
v = get('b');
assert.equal(v.e.ts, ns('2026-01-01T00:00:02Z', 2));
assert.deepEqual(v.e.meta, meta({trace_id: 't2', span_id: 's2', request_id: 'r2'}));
v = get('offset');
assert.equal(v.labels.level, 'warn');
assert.equal(v.e.ts, ns('2026-01-01T00:00:00Z'));
assert.deepEqual(v.e.meta, meta({}));
v = get('no time');
assert.equal(v.labels.level, 'error', 'the nested "level" must not win');
assert.equal(v.labels.service, 'worker"x');
assert.ok(v.e.ts > ns('2020-01-01T00:00:00Z'), 'a line without time is stamped now');
v = seen.get('not json at all');
assert.equal(v.labels.level, 'unknown');
assert.equal(v.labels.service, 'unknown_service:tycho'); // no service in the line: the configured one (none here)
v = get('esc \\u00e9 \\ud83d\\ude00');
assert.equal(v.labels.level, 'debug');
assert.deepEqual(v.e.meta, meta({trace_id: 'abc1'}));
v = get('first of api/info');
assert.equal(v.e.ts, ns('2026-01-01T00:00:00Z', 500000000));
assert.deepEqual(v.e.meta, meta({request_id: 'r0'}));

// the driver's lines: service "driver", levels in turn, ids in metadata
let generated = 0;
for (const [line, {labels, e}] of seen) {
  if (!line.includes('"service":"driver"')) continue;
  generated++;
  const j = JSON.parse(line);
  assert.equal(labels.service, 'driver');
  assert.equal(labels.level, j.level);
  assert.deepEqual(e.meta, meta({trace_id: j.trace_id, span_id: j.span_id, request_id: j.request_id}));
  const [sec, frac] = j.time.slice(0, -1).split('.');
  assert.equal(e.ts, ns(sec + 'Z', frac));
}
assert.equal(generated, Number(extra));
console.log(`loki ${format} ok: ${seen.size} lines in ${reqs.length} push(es)`);
