#!/usr/bin/env bash
# The remote write's default `instance` label is "<host name>:<port>" of the
# public listener tycho serves on: the port it bound (here an ephemeral one,
# asked for with --listen), not the TYCHO_LISTEN variable, which a flag
# overrides (a bad value there is not even read).
source "$(dirname "$0")/lib.sh"
start_receiver M
TYCHO_REMOTE_WRITE_URL="http://127.0.0.1:$M_PORT/api/v1/write" TYCHO_REMOTE_WRITE_INTERVAL=0.2 \
    TYCHO_LISTEN=127.0.0.1:99999 start_serve --workers 1
PORT=${PUB##*:}
[ "$PORT" != 0 ] || fail "logged port 0: $PUB"
for _ in $(seq 100); do
    captured "$M_PORT" "$WORK/rw.json"
    [ "$(jsget "$(cat "$WORK/rw.json")" 's.filter((r) => r.status === 200).length')" -gt 0 ] && break
    sleep 0.1
done
node -e '
const reqs = JSON.parse(require("fs").readFileSync(process.argv[1])).filter((r) => r.status === 200);
const {decodeRemoteWrite} = require(process.argv[2] + "/decoders.js");
if (!reqs.length) throw new Error("no remote write request arrived");
const want = process.argv[3];
const seen = new Set();
for (const r of reqs)
  for (const ts of decodeRemoteWrite(Buffer.from(r.body, "base64")).timeseries)
    for (const l of ts.labels) if (l.name === "instance") seen.add(l.value);
if (seen.size !== 1 || !seen.has(want))
  throw new Error(`instance labels ${JSON.stringify([...seen])}, expected ${want}`);
console.log(`  instance="${want}" on every series`);
' "$WORK/rw.json" "$EXP_DIR" "$(hostname):$PORT" || fail "instance label"
echo "PASS"
