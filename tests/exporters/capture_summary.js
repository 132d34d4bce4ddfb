// Summarises what a receiver captured, for the fault tests:
//   node capture_summary.js CAPTURED.json otlp|loki|loki-json|prw
// prints {"requests", "acked" (2xx the sender saw), "statuses", "items_acked",
// "distinct_acked", "dups_acked" (items in more than one acknowledged request),
// "items_all", "gaps_ms" (time from each answer to the next request)}.
// Items: OTLP span ids, Loki lines, remote-write (series, timestamp) pairs.
'use strict';
const fs = require('fs');
const {decodeOtlp, decodeLoki, decodeLokiJson, decodeRemoteWrite} = require('./decoders.js');

const [file, kind] = process.argv.slice(2);
const reqs = JSON.parse(fs.readFileSync(file));

function items(body) {
  const buf = Buffer.from(body, 'base64');
  if (kind === 'otlp') {
    const out = [];
    for (const rs of decodeOtlp(buf).resourceSpans)
      for (const ss of rs.scopeSpans) for (const sp of ss.spans) out.push(sp.spanId);
    return out;
  }
  if (kind === 'loki' || kind === 'loki-json') {
    const streams = kind === 'loki' ? decodeLoki(buf) : decodeLokiJson(buf);
    return streams.flatMap((s) => s.entries.map((e) => e.line));
  }
  if (kind === 'prw') {
    const wr = decodeRemoteWrite(buf);
    return wr.timeseries.flatMap((ts) => {
      const key = ts.labels.map((l) => `${l.name}=${l.value}`).join(',');
      return ts.samples.map((s) => `${key}@${s.timestamp}`);
    });
  }
  throw new Error(`unknown kind ${kind}`);
}

const acked = new Map();
let itemsAll = 0, itemsAcked = 0, dups = 0, ackedReqs = 0;
const gaps = [];
for (let i = 0; i < reqs.length; i++) {
  const r = reqs[i];
  const its = items(r.body);
  itemsAll += its.length;
  if (i > 0 && reqs[i - 1].answered) gaps.push(r.t - reqs[i - 1].answered);
  const ok = r.status >= 200 && r.status < 300 && !r.client_gone && r.answered;
  if (!ok) continue;
  ackedReqs++;
  for (const it of its) {
    itemsAcked++;
    if (acked.has(it)) dups++;
    acked.set(it, true);
  }
}
console.log(JSON.stringify({requests: reqs.length, acked: ackedReqs,
                            statuses: reqs.map((r) => (r.client_gone ? 'gone' : r.status)),
                            items_acked: itemsAcked, distinct_acked: acked.size, dups_acked: dups,
                            items_all: itemsAll, gaps_ms: gaps}));
