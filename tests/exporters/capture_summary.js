// Summarises what a receiver captured, for the fault tests:
//   node capture_summary.js CAPTURED.json otlp|loki|loki-json|prw [MORE.json...]
// (more capture files are appended in order: one summary of them all)
// prints {"requests", "acked" (2xx the sender saw), "statuses", "items_acked",
// "distinct_acked", "dups_acked" (items in more than one acknowledged request),
// "items_all", "distinct_all", "gaps_ms" (time from each answer to the next
// request), "repeats" (requests whose body an earlier one carried: retries),
// "retry_gaps_ms" (for each repeat, the time since the previous attempt with
// that body was answered, or sent when it never was), "answered_repeats" and
// "answered_retry_gaps_ms" (the same for the repeats whose previous attempt
// was answered: retries decided on a status, not on the sender's timeout,
// which a loaded machine can cause in any phase)}.
// Items: OTLP span ids, Loki lines, remote-write (series, timestamp) pairs.
'use strict';
const fs = require('fs');
const {decodeOtlp, decodeLoki, decodeLokiJson, decodeRemoteWrite} = require('./decoders.js');

const [file, kind, ...more] = process.argv.slice(2);
const reqs = [file, ...more].flatMap((f) => JSON.parse(fs.readFileSync(f)));

const decoded = new Map(); // body -> items: a retried batch is decoded once
function items(body) {
  if (!decoded.has(body)) decoded.set(body, decode(body));
  return decoded.get(body);
}

function decode(body) {
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
const all = new Set();
const lastByBody = new Map();
let itemsAll = 0, itemsAcked = 0, dups = 0, ackedReqs = 0;
const gaps = [], retryGaps = [], answeredGaps = [];
for (let i = 0; i < reqs.length; i++) {
  const r = reqs[i];
  const its = items(r.body);
  itemsAll += its.length;
  for (const it of its) all.add(it);
  if (i > 0 && reqs[i - 1].answered) gaps.push(r.t - reqs[i - 1].answered);
  const prev = lastByBody.get(r.body);
  if (prev) retryGaps.push(r.t - (prev.answered || prev.t));
  if (prev && prev.answered) answeredGaps.push(r.t - prev.answered);
  lastByBody.set(r.body, r);
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
                            items_all: itemsAll, distinct_all: all.size, gaps_ms: gaps,
                            repeats: retryGaps.length, retry_gaps_ms: retryGaps,
                            answered_repeats: answeredGaps.length,
                            answered_retry_gaps_ms: answeredGaps}));
