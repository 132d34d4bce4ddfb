// Independent decoders for what tycho's exporters send. None of them uses
// tycho's own schemas (exporters/proto/*.proto):
//  - OTLP: the OpenTelemetry project's protobufjs root generated from the
//    official opentelemetry-proto files (shipped in @opentelemetry/otlp-transformer
//    0.213), plus a wire-level walk with protobufjs's Reader for the flags
//    fields, read straight from the OTLP spec's field numbers.
//  - Loki: a protobufjs schema written here from Loki's push.proto field
//    table, and snappyjs for the snappy block format.
'use strict';
const path = require('path');
const protobuf = require('protobufjs');
const snappy = require('snappyjs');

const otlpRoot = require(path.join(__dirname, 'node_modules/@opentelemetry/otlp-transformer',
                                   'build/src/generated/root.js'));
const ExportTraceServiceRequest =
    otlpRoot.opentelemetry.proto.collector.trace.v1.ExportTraceServiceRequest;

// Every (field number, wire type, value) of one message, in order.
function wireFields(buf) {
  const r = protobuf.Reader.create(buf);
  const out = [];
  while (r.pos < r.len) {
    const tag = r.uint32();
    const fn = tag >>> 3, wt = tag & 7;
    let v;
    if (wt === 0) v = r.uint64();
    else if (wt === 1) v = r.fixed64();
    else if (wt === 2) v = r.bytes();
    else if (wt === 5) v = r.fixed32();
    else throw new Error(`unexpected wire type ${wt} for field ${fn}`);
    out.push({fn, wt, v});
  }
  return out;
}
const sub = (fields, fn) => fields.filter((f) => f.fn === fn && f.wt === 2).map((f) => wireFields(f.v));

// OTLP: objects with hex ids, 64-bit numbers as strings, plus span.rawFlags and
// link.rawFlags from the wire (Span #16, Link #6: fixed32).
function decodeOtlp(buf) {
  const msg = ExportTraceServiceRequest.decode(buf);
  const obj = ExportTraceServiceRequest.toObject(msg, {longs: String, bytes: String, enums: Number,
                                                       defaults: false, arrays: true});
  const hex = (b64) => (b64 === undefined ? undefined : Buffer.from(b64, 'base64').toString('hex'));
  const wire = wireFields(buf);
  sub(wire, 1).forEach((rs, i) => {
    sub(rs, 2).forEach((ss, j) => {
      sub(ss, 2).forEach((sp, k) => {
        const span = obj.resourceSpans[i].scopeSpans[j].spans[k];
        const f = sp.filter((x) => x.fn === 16);
        if (f.length && f[0].wt !== 5) throw new Error('Span.flags is not fixed32');
        span.rawFlags = f.length ? f[0].v : undefined;
        sub(sp, 13).forEach((ln, l) => {
          const lf = ln.filter((x) => x.fn === 6);
          if (lf.length && lf[0].wt !== 5) throw new Error('Link.flags is not fixed32');
          span.links[l].rawFlags = lf.length ? lf[0].v : undefined;
        });
        for (const k2 of ['traceId', 'spanId', 'parentSpanId']) span[k2] = hex(span[k2]);
        for (const ln of span.links || []) {
          ln.traceId = hex(ln.traceId);
          ln.spanId = hex(ln.spanId);
        }
      });
    });
  });
  return obj;
}

// OTLP KeyValue list -> {key: plain value}; arrays become JS arrays.
function attrMap(kvs) {
  const out = {};
  const val = (v) => {
    if (v === undefined || v === null) return undefined;
    if ('stringValue' in v) return v.stringValue;
    if ('intValue' in v) return String(v.intValue);
    if ('doubleValue' in v) return v.doubleValue;
    if ('boolValue' in v) return v.boolValue;
    if ('arrayValue' in v) return (v.arrayValue.values || []).map(val);
    if ('bytesValue' in v) return v.bytesValue;
    return undefined;
  };
  for (const kv of kvs || []) {
    if (kv.key in out) throw new Error(`duplicate attribute key ${kv.key}`);
    out[kv.key] = val(kv.value);
  }
  return out;
}

const lokiRoot = protobuf.Root.fromJSON({nested: {logproto: {nested: {
  PushRequest: {fields: {streams: {rule: 'repeated', type: 'StreamAdapter', id: 1},
                         format: {type: 'string', id: 2}}},
  StreamAdapter: {fields: {labels: {type: 'string', id: 1},
                           entries: {rule: 'repeated', type: 'EntryAdapter', id: 2},
                           hash: {type: 'uint64', id: 3}}},
  EntryAdapter: {fields: {timestamp: {type: 'Timestamp', id: 1}, line: {type: 'string', id: 2},
                          structuredMetadata: {rule: 'repeated', type: 'LabelPairAdapter', id: 3},
                          parsed: {rule: 'repeated', type: 'LabelPairAdapter', id: 4}}},
  LabelPairAdapter: {fields: {name: {type: 'string', id: 1}, value: {type: 'string', id: 2}}},
  Timestamp: {fields: {seconds: {type: 'int64', id: 1}, nanos: {type: 'int32', id: 2}}},
}}}});
const PushRequest = lokiRoot.lookupType('logproto.PushRequest');

// Loki protobuf push: snappy block -> PushRequest -> plain objects with
// entries [{ts: BigInt ns, line, meta: {name: value}}].
function decodeLoki(buf) {
  if (buf.slice(0, 10).equals(Buffer.from('ff060000734e61507059', 'hex')))
    throw new Error('framed snappy stream instead of the block format');
  const raw = Buffer.from(snappy.uncompress(buf));
  const msg = PushRequest.toObject(PushRequest.decode(raw), {longs: String, defaults: true});
  return msg.streams.map((s) => ({
    labels: s.labels,
    entries: s.entries.map((e) => ({
      ts: BigInt(e.timestamp.seconds) * 1000000000n + BigInt(e.timestamp.nanos),
      line: e.line,
      meta: Object.fromEntries((e.structuredMetadata || []).map((m) => [m.name, m.value])),
    })),
  }));
}

// Loki JSON push -> the same shape.
function decodeLokiJson(buf) {
  const doc = JSON.parse(buf.toString());
  return doc.streams.map((s) => {
    const names = Object.keys(s.stream).sort();
    return {
      labels: '{' + names.map((n) => `${n}="${s.stream[n]}"`).join(', ') + '}',
      stream: s.stream,
      entries: s.values.map((v) => {
        if (typeof v[0] !== 'string') throw new Error('timestamp is not a string');
        return {ts: BigInt(v[0]), line: v[1], meta: v[2] || {}};
      }),
    };
  });
}

// {a="b", c="d\"e"} -> {a: 'b', c: 'd"e'} (Prometheus selector syntax).
function parseSelector(s) {
  const out = {};
  const re = /\s*([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"\s*(,|})/g;
  if (s[0] !== '{') throw new Error(`not a selector: ${s}`);
  re.lastIndex = 1;
  let m, end = 0;
  while ((m = re.exec(s))) {
    out[m[1]] = m[2].replace(/\\(.)/g, (x, c) => (c === 'n' ? '\n' : c));
    end = re.lastIndex;
    if (m[3] === '}') break;
  }
  if (end !== s.length) throw new Error(`bad selector: ${s}`);
  return out;
}

// Prometheus remote write 1.0, from the spec's field table.
const prwRoot = protobuf.Root.fromJSON({nested: {prometheus: {nested: {
  WriteRequest: {fields: {timeseries: {rule: 'repeated', type: 'TimeSeries', id: 1}}},
  TimeSeries: {fields: {labels: {rule: 'repeated', type: 'Label', id: 1},
                        samples: {rule: 'repeated', type: 'Sample', id: 2}}},
  Label: {fields: {name: {type: 'string', id: 1}, value: {type: 'string', id: 2}}},
  Sample: {fields: {value: {type: 'double', id: 1}, timestamp: {type: 'int64', id: 2}}},
}}}});
const WriteRequest = prwRoot.lookupType('prometheus.WriteRequest');

function decodeRemoteWrite(buf) {
  const raw = Buffer.from(snappy.uncompress(buf));
  return WriteRequest.toObject(WriteRequest.decode(raw), {longs: String, defaults: true});
}

module.exports = {decodeOtlp, attrMap, decodeLoki, decodeLokiJson, parseSelector, wireFields,
                  decodeRemoteWrite};
