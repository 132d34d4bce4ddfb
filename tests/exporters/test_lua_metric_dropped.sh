#!/usr/bin/env bash
# A Lua metric the route files stop defining (docs/routes.md, tycho.metrics;
# docs/telemetry.md): a real `tycho serve` with hot reload and the remote
# write to a loopback receiver.
#  - a route file sets a gauge to 42; once that file is deleted and the
#    watcher's reload has ended, the gauge is gone from the admin /metrics
#    and the remote write ends its series with a stale marker (before the
#    fix it stayed at 42 until the process restarted: an alert on it never
#    cleared);
#  - a counter the reload defines again (same name and type) keeps its count;
#  - at SIGTERM the final push still carries the Lua metrics' last values,
#    then their stale markers: the workers' Lua states closing drop nothing.
source "$(dirname "$0")/lib.sh"
start_receiver R
ROUTES="$WORK/routes"
mkdir -p "$ROUTES"
cat >"$ROUTES/keep.lua" <<'LUA'
local metrics = require "tycho.metrics"
local kept = metrics.counter("app_kept_total", "Kept across reloads.")
return { { "GET", "/keep", function() kept:inc() return 200, {} end } }
LUA
cat >"$ROUTES/gone.lua" <<'LUA'
local metrics = require "tycho.metrics"
local gone = metrics.gauge("app_gone_level", "Defined only by gone.lua.", { "kind" })
return { { "GET", "/gone", function() gone:set({ kind = "a" }, 42) return 200, {} end } }
LUA

# metric NAME: the sample lines of NAME on the admin /metrics
metric() {
    curl -sf "http://$ADM/metrics" | grep "^$1[ {]" || true
}

TYCHO_REMOTE_WRITE_URL="http://127.0.0.1:$R_PORT/api/v1/write" TYCHO_REMOTE_WRITE_INTERVAL=0.2 \
    start_serve --workers 2
curl -sf "http://$PUB/gone" >/dev/null || fail "GET /gone failed"
for _ in 1 2 3; do curl -sf "http://$PUB/keep" >/dev/null || fail "GET /keep failed"; done
[ "$(metric app_gone_level)" = 'app_gone_level{kind="a"} 42' ] ||
    fail "before the reload: $(metric app_gone_level)"
[ "$(metric app_kept_total)" = 'app_kept_total 3' ] || fail "before the reload: $(metric app_kept_total)"
# wait for a push that carries the gauge (its 42 before the end)
for _ in $(seq 200); do
    captured "$R_PORT" "$WORK/early.json"
    [ "$(node -e '
const reqs = JSON.parse(require("fs").readFileSync(process.argv[1]));
const {decodeRemoteWrite} = require(process.argv[2] + "/decoders.js");
console.log(reqs.some((r) => r.path === "/api/v1/write" && r.status === 200 &&
  decodeRemoteWrite(Buffer.from(r.body, "base64")).timeseries.some((t) =>
    t.labels.some((l) => l.name === "__name__" && l.value === "app_gone_level"))));' \
        "$WORK/early.json" "$EXP_DIR")" = true ] && break
    sleep 0.1
done

echo "--- gone.lua deleted: the hot reload drops its gauge"
rm "$ROUTES/gone.lua"
for _ in $(seq 200); do grep -q '"routes reloaded"' "$WORK/serve.log" && break; sleep 0.05; done
grep -q '"routes reloaded"' "$WORK/serve.log" || fail "no reload: $(tail -3 "$WORK/serve.log")"
[ -z "$(metric app_gone_level)" ] || fail "after the reload, /metrics still has: $(metric app_gone_level)"
curl -sf "http://$ADM/metrics" | grep -q '^# HELP app_gone_level' && fail "its HELP line stayed"
[ "$(metric app_kept_total)" = 'app_kept_total 3' ] ||
    fail "the counter the reload defines again lost its count: $(metric app_kept_total)"
sleep 0.6 # the next pushes: the gauge's stale marker (the final push has it otherwise)

echo "--- SIGTERM: the final push has the Lua metrics' last values"
for _ in 1 2; do curl -sf "http://$PUB/keep" >/dev/null || fail "GET /keep failed"; done
kill -TERM "$SERVE"
wait "$SERVE" || fail "tycho exited $?: $(tail -3 "$WORK/serve.log")"
take_captured "$R_PORT" "$WORK/rw.json"
node -e '
const reqs = JSON.parse(require("fs").readFileSync(process.argv[1]));
const {decodeRemoteWrite} = require(process.argv[2] + "/decoders.js");
// every sample of a series, in the order the receiver got them
const samples = (name) => reqs.filter((r) => r.path === "/api/v1/write" && r.status === 200)
  .flatMap((r) => decodeRemoteWrite(Buffer.from(r.body, "base64")).timeseries)
  .filter((t) => t.labels.some((l) => l.name === "__name__" && l.value === name))
  .flatMap((t) => t.samples.map((s) => ({v: s.value, t: Number(s.timestamp)})));
const show = (s) => JSON.stringify(s.map((x) => x.v).slice(-6));
const gone = samples("app_gone_level");
const gi = gone.findIndex((s) => Number.isNaN(s.v));
if (gi < 1 || gone[gi - 1].v !== 42) throw new Error("app_gone_level: 42, then a stale marker: " + show(gone));
if (gone.slice(gi).some((s) => !Number.isNaN(s.v)))
  throw new Error("app_gone_level pushed again after its stale marker: " + show(gone));
const kept = samples("app_kept_total");
const ki = kept.findIndex((s) => Number.isNaN(s.v));
if (ki < 0 || ki !== kept.length - 1) throw new Error("app_kept_total: one stale marker, at shutdown, last: " + show(kept));
if (kept[ki - 1].v !== 5) throw new Error("app_kept_total: the final push lacks the last value 5: " + show(kept));
console.log("  app_gone_level " + show(gone) + ", app_kept_total " + show(kept));' \
    "$WORK/rw.json" "$EXP_DIR" || fail "remote write: $(summary "$WORK/rw.json" rw 2>/dev/null || true)"
echo "PASS"
