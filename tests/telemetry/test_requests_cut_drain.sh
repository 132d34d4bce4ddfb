#!/usr/bin/env bash
# Requests the drain timeout cuts are counted (docs/telemetry.md, "Answered
# or cut"): a handler still running and an upload still arriving when
# TYCHO_DRAIN_TIMEOUT passes are each one
# tycho_http_requests_cut_total{reason="drain_timeout"} (the handler's with
# its route, the upload's with none), none of them an answered request, and
# the count reaches a receiver in the final remote write (a real
# receiver.js, decoded by the tests' remote-write decoder).
source "$(dirname "$0")/../exporters/lib.sh"
start_receiver R
ROUTES="$TYCHO_SRC/tests/integration/routes" TYCHO_DRAIN_TIMEOUT=1 TYCHO_REMOTE_WRITE_INTERVAL=60 \
    TYCHO_REMOTE_WRITE_URL="http://127.0.0.1:$R_PORT/api/v1/write" start_serve --workers 1
HOST=${PUB%:*} PORT=${PUB##*:}

# a handler that outlives the drain timeout, and an upload that never ends
exec 3<>"/dev/tcp/$HOST/$PORT" 4<>"/dev/tcp/$HOST/$PORT"
printf 'GET /sleep/5000 HTTP/1.1\r\nHost: t\r\n\r\n' >&3
printf 'POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 100\r\n\r\nabc' >&4
# one answered request beside them
curl -sf "http://$PUB/json" >/dev/null || fail "GET /json"
sleep 0.3
kill -TERM "$SERVE"
wait "$SERVE" || fail "tycho exited $?: $(tail -3 "$WORK/serve.log")"
exec 3>&- 4>&-
grep -q '"requests_cut":2' "$WORK/serve.log" ||
    fail "the drain timeout line does not count 2 cut requests: $(grep 'drain timeout' "$WORK/serve.log")"

take_captured "$R_PORT" "$WORK/rw.json"
node -e '
const reqs = JSON.parse(require("fs").readFileSync(process.argv[1]));
const {decodeRemoteWrite} = require(process.argv[2] + "/decoders.js");
const series = reqs.filter((r) => r.path === "/api/v1/write" && r.status === 200)
    .flatMap((r) => decodeRemoteWrite(Buffer.from(r.body, "base64")).timeseries);
const labels = (t) => Object.fromEntries(t.labels.map((l) => [l.name, l.value]));
// route|reason (remote write leaves an empty label out) -> the last value
// each series reached (not its stale marker)
const last = (name, key) => {
  const out = {};
  for (const t of series) {
    const l = labels(t);
    if (l.__name__ !== name) continue;
    for (const s of t.samples) if (!Number.isNaN(s.value)) out[key(l)] = s.value;
  }
  return out;
};
const sorted = (o) => JSON.stringify(Object.keys(o).sort().map((k) => [k, o[k]]));
const got = last("tycho_http_requests_cut_total", (l) => (l.route || "") + "|" + l.reason);
const want = {"|client_closed": 0, "|send_timeout": 0,
              "|drain_timeout": 1,             // the upload
              "/sleep/:ms|drain_timeout": 1};  // the handler
if (sorted(got) !== sorted(want))
  throw new Error("cut requests in the final push: " + sorted(got) + ", want " + sorted(want));
const answered = last("tycho_http_requests_total", (l) => l.route + "|" + l.status);
if (sorted(answered) !== sorted({"/json|200": 1}))
  throw new Error("answered requests in the final push: " + sorted(answered));
console.log("final push: " + JSON.stringify(got));' "$WORK/rw.json" "$EXP_DIR" ||
    fail "the drain timeout's cuts did not reach the final remote write"
echo "PASS"
