#!/usr/bin/env bash
# Remote write: a series never gets two samples at the same millisecond, and
# its timestamps only grow from one request to the next — even when the final
# snapshot at shutdown comes in the same millisecond as the last periodic one
# (it did: the driver's "sleep" ends on the same loop turn as the interval
# timer when one is a multiple of the other, and a receiver such as
# Prometheus refuses the second sample as a duplicate). Several short runs,
# as the collision depends on the clock.
source "$(dirname "$0")/lib.sh"
start_receiver R
for i in $(seq 8); do
    reset_captured "$R_PORT"
    TYCHO_REMOTE_WRITE_URL="http://127.0.0.1:$R_PORT/api/v1/write" TYCHO_REMOTE_WRITE_INTERVAL=0.1 \
        "$DRIVER" counter 3 sleep 300 counter 1 shutdown 1000 >"$WORK/run.out" 2>&1 ||
        fail "driver failed: $(tail -3 "$WORK/run.out")"
    captured "$R_PORT" "$WORK/run.json"
    node -e '
const reqs = JSON.parse(require("fs").readFileSync(process.argv[1]));
const {decodeRemoteWrite} = require(process.argv[2] + "/decoders.js");
const last = new Map(); // series -> last timestamp
let n = 0;
for (const r of reqs) {
  if (r.status !== 200) continue;
  for (const ts of decodeRemoteWrite(Buffer.from(r.body, "base64")).timeseries) {
    const key = ts.labels.map((l) => `${l.name}=${l.value}`).join(",");
    for (const s of ts.samples) {
      const t = BigInt(s.timestamp);
      if (last.has(key) && t <= last.get(key))
        throw new Error(`${key}: sample at ${t} after one at ${last.get(key)}`);
      last.set(key, t);
      n++;
    }
  }
}
if (!n) throw new Error("no samples");
console.log(`  run ${process.argv[3]}: ${reqs.length} requests, ${n} samples, timestamps increasing`);
' "$WORK/run.json" "$EXP_DIR" "$i" || fail "run $i: $(sed -n 's/^SHUTDOWN //p' "$WORK/run.out")"
done
echo "PASS"
