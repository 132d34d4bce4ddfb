// Checks the OTLP requests a receiver captured, decoded independently
// (decoders.js). usage:
//   node otlp_check.js CAPTURED.json known VERSION PATH   the known span of export_driver,
//                                                   field by field, and the resource
//   node otlp_check.js CAPTURED.json batches PATH N MAX  N distinct spans in total, none
//                                                   twice, no request above MAX spans
//   node otlp_check.js CAPTURED.json arrays PATH    the string arrays of routes_arrays/aws.lua's
//                                                   GET /ddb: its server span's app.tags and
//                                                   its DynamoDB span's aws.dynamodb.table_names
//                                                   (exit 2: those spans are not there yet)
// OTLP_ENCODING=gzip: every body must come with Content-Encoding: gzip (and
// is gunzipped before decoding); otherwise none may.
'use strict';
const fs = require('fs');
const zlib = require('zlib');
const assert = require('assert/strict');
const {decodeOtlp, attrMap} = require('./decoders.js');

const [file, mode, ...args] = process.argv.slice(2);
const reqs = JSON.parse(fs.readFileSync(file));

function decodedRequests(path) {
  const out = [];
  for (const r of reqs) {
    assert.equal(r.method, 'POST');
    assert.equal(r.path, path, `request path ${r.path}`);
    assert.equal(r.headers['content-type'], 'application/x-protobuf');
    let body = Buffer.from(r.body, 'base64');
    if (process.env.OTLP_ENCODING === 'gzip') {
      assert.equal(r.headers['content-encoding'], 'gzip');
      body = zlib.gunzipSync(body);
    } else {
      assert.ok(!r.headers['content-encoding'], 'unexpected content-encoding');
    }
    out.push({raw: r, msg: decodeOtlp(body)});
  }
  return out;
}

function allSpans(decoded) {
  const spans = [];
  for (const {msg} of decoded) {
    assert.equal(msg.resourceSpans.length, 1, 'one ResourceSpans per request');
    for (const rs of msg.resourceSpans)
      for (const ss of rs.scopeSpans) for (const sp of ss.spans) spans.push({rs, ss, sp});
  }
  return spans;
}

if (mode === 'known') {
  const [version, path] = args;
  const decoded = decodedRequests(path);
  assert.ok(decoded.length >= 1, 'no request captured');
  for (const {raw} of decoded) {
    assert.equal(raw.headers['x-api-key'], 's ecret', 'OTEL_EXPORTER_OTLP_HEADERS percent-decoded');
    assert.equal(raw.headers['x-tenant'], 't1');
    assert.match(raw.headers['user-agent'] || '', /^tycho\//);
  }
  const spans = allSpans(decoded);
  const hit = spans.filter((x) => x.sp.spanId === 'a1a2a3a4a5a6a7a8');
  assert.equal(hit.length, 1, 'the known span exactly once');
  const {rs, ss, sp} = hit[0];

  const res = attrMap(rs.resource.attributes);
  const expectRes = {
    'service.name': 'tycho-test',
    'service.version': '9.9.9',
    'deployment.environment': 'test,staging',
    'team': 'a=b',
    'telemetry.sdk.name': 'tycho',
    'telemetry.sdk.version': version,
    'cloud.provider': 'aws',
    'cloud.platform': 'aws_ecs',
    'cloud.region': 'us-west-2',
    'cloud.account.id': '111122223333',
    'cloud.availability_zone': 'us-west-2a',
    'aws.ecs.task.arn': 'arn:aws:ecs:us-west-2:111122223333:task/default/cd189a933e5849daa93386466019ab50',
    'aws.ecs.task.family': 'tycho-app',
    'aws.ecs.task.revision': '7',
    'aws.ecs.cluster.arn': 'arn:aws:ecs:us-west-2:111122223333:cluster/default',
    'aws.ecs.launchtype': 'fargate',
    'aws.ecs.container.arn': 'arn:aws:ecs:us-west-2:111122223333:container/default/cd189a933e5849daa93386466019ab50/1a1b2c3d',
    'container.id': 'cd189a933e5849daa93386466019ab50-2495160603',
    'container.name': 'app',
    'aws.log.group.names': ['/ecs/tycho'],
    'aws.log.stream.names': ['ecs/app/cd189a933e58'],
    'aws.log.group.arns': ['arn:aws:logs:us-west-2:111122223333:log-group:/ecs/tycho'],
    'aws.log.stream.arns': ['arn:aws:logs:us-west-2:111122223333:log-group:/ecs/tycho:log-stream:ecs/app/cd189a933e58'],
  };
  assert.deepEqual(res, expectRes, 'resource attributes');
  assert.equal(ss.scope.name, 'tycho');
  assert.equal(ss.scope.version, version);

  assert.equal(sp.traceId, '0102030405060708090a0b0c0d0e0f10');
  assert.equal(sp.spanId, 'a1a2a3a4a5a6a7a8');
  assert.equal(sp.parentSpanId, 'b1b2b3b4b5b6b7b8');
  assert.equal(sp.traceState, 'rojo=00f067aa0ba902b7,congo=t61rcWkgMzE');
  assert.equal(sp.rawFlags, 0x301, 'flags: sampled | HAS_IS_REMOTE | IS_REMOTE (remote parent)');
  assert.equal(sp.name, 'GET /items/:id');
  assert.equal(sp.kind, 2, 'SPAN_KIND_SERVER');
  assert.equal(sp.startTimeUnixNano, '1700000000123456789');
  assert.equal(sp.endTimeUnixNano, '1700000000125956789');
  assert.deepEqual(attrMap(sp.attributes), {
    'http.request.method': 'GET',
    'http.response.status_code': '200',
    'tycho.ratio': 0.25,
    'tycho.cached': true,
    'tycho.bytes': 'a\uFFFDb',
    'server.port': '-8080',
  });
  assert.equal(sp.droppedAttributesCount, 2);
  assert.equal(sp.events.length, 2);
  assert.equal(sp.events[0].name, 'exception');
  assert.equal(sp.events[0].timeUnixNano, '1700000000123457789');
  assert.deepEqual(attrMap(sp.events[0].attributes), {
    'exception.type': 'ValueError',
    'exception.message': 'boom',
    'exception.stacktrace': 'at handler (routes/x.lua:3)',
  });
  assert.equal(sp.events[1].name, 'cache.miss');
  assert.equal(sp.events[1].timeUnixNano, '1700000000123458789');
  assert.deepEqual(attrMap(sp.events[1].attributes), {'cache.key': 'item:42'});
  assert.ok(!sp.droppedEventsCount);
  assert.equal(sp.links.length, 1);
  const ln = sp.links[0];
  assert.equal(ln.traceId, '11111111111111112222222222222222');
  assert.equal(ln.spanId, '3333333333333333');
  assert.equal(ln.traceState, 'a=b');
  assert.deepEqual(attrMap(ln.attributes), {'link.kind': 'follows'});
  assert.equal(ln.rawFlags, 0x301);
  assert.ok(!sp.droppedLinksCount);
  assert.deepEqual(sp.status, {code: 2, message: 'boom'});

  // the small spans: roots, INTERNAL, flags 0x101 (sampled | HAS_IS_REMOTE)
  for (const {sp: s} of spans) {
    if (s === sp) continue;
    assert.match(s.name, /^op-\d+$/);
    assert.equal(s.kind, 1);
    assert.equal(s.parentSpanId, undefined, 'root span has no parent');
    assert.equal(s.rawFlags, 0x101);
    assert.ok(BigInt(s.endTimeUnixNano) >= BigInt(s.startTimeUnixNano));
  }
  console.log(`known span ok (${spans.length} spans in ${decoded.length} request(s))`);
} else if (mode === 'batches') {
  const [path, n, max] = args;
  const decoded = decodedRequests(path);
  const ids = new Set();
  for (const {msg} of decoded) {
    const k = msg.resourceSpans[0].scopeSpans[0].spans.length;
    assert.ok(k <= Number(max), `a request carried ${k} spans (max ${max})`);
  }
  for (const {sp} of allSpans(decoded)) {
    assert.ok(!ids.has(sp.spanId), `span ${sp.spanId} (${sp.name}) delivered twice`);
    ids.add(sp.spanId);
  }
  assert.equal(ids.size, Number(n), `distinct spans delivered`);
  console.log(`batches ok: ${ids.size} spans in ${decoded.length} request(s)`);
} else if (mode === 'arrays') {
  const [path] = args;
  const spans = allSpans(decodedRequests(path)).map((x) => x.sp);
  if (!['DynamoDB.GetItem', 'GET /ddb'].every((n) => spans.some((s) => s.name === n))) {
    console.error(`not there yet: ${spans.map((s) => s.name)}`);
    process.exit(2);
  }
  const one = (name) => {
    const hit = spans.filter((s) => s.name === name);
    assert.equal(hit.length, 1, `one ${name} span among ${spans.map((s) => s.name)}`);
    return hit[0];
  };
  // Each as an AnyValue.array_value of string_values: attrMap gives a JS
  // array only for an arrayValue, a plain string for a stringValue.
  const kv = (sp, key) => sp.attributes.find((a) => a.key === key);
  const ddb = one('DynamoDB.GetItem');
  assert.equal(ddb.kind, 3, 'SPAN_KIND_CLIENT');
  assert.deepEqual(kv(ddb, 'aws.dynamodb.table_names').value,
                   {arrayValue: {values: [{stringValue: 'tycho-app-data'}]}});
  assert.equal(attrMap(ddb.attributes)['db.system'], 'dynamodb');
  const srv = one('GET /ddb');
  assert.deepEqual(kv(srv, 'app.tags').value,
                   {arrayValue: {values: [{stringValue: 'a'}, {stringValue: ''}, {stringValue: 'c\u00e9'}]}});
  assert.deepEqual(kv(srv, 'app.none').value, {arrayValue: {values: []}});
  console.log('arrays ok: aws.dynamodb.table_names, app.tags, app.none');
} else {
  throw new Error(`unknown mode ${mode}`);
}
