#!/usr/bin/env bash
# How far can any server go in the HTTP engine bench here? Runs tycho (the Lua
# JSON route, started by bench/lib/servers.sh: access log off and
# OTEL_TRACES_SAMPLER=always_off; its metrics and request observer run as
# always. bench/http_engine.sh keeps the default sampler; with no exporter
# neither builds spans), OpenResty's engine, and bench/ceiling/ceiling.c (a
# canned answer per "\r\n\r\n": no parsing, no allocation, edge-triggered
# epoll) side by side: one worker each on CPU 0, `wrk -t1 -c50` on CPU 1, runs
# interleaved. For every run it also reads /proc/stat around the run and
# prints how busy each core was and where the server core's time went (user,
# system, softirq) per request.
#
# If the ceiling itself is not 1.3x OpenResty, no server can be: the limit is
# the loopback TCP path and the load generator's core, not the server's code.
# A script, not a timed test.
#
#   RUNS=5 DURATION=5 CONNECTIONS=50 bench/ceiling.sh
#   TYCHO_BIN=build-bench/tycho (default; needs a Release build)
#   RESULTS=bench/results (raw output under raw/ceiling/)
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BENCH=$ROOT/bench
cd "$ROOT"
RUNS=${RUNS:-5}
DURATION=${DURATION:-5}
CONNECTIONS=${CONNECTIONS:-50}
TYCHO_BIN=${TYCHO_BIN:-build-bench/tycho}
RESULTS=${RESULTS:-$BENCH/results}
SERVER_CPU=${SERVER_CPU:-0}
CLIENT_CPU=${CLIENT_CPU:-1}
# shellcheck source=bench/lib/common.sh
. "$BENCH/lib/common.sh"
# shellcheck source=bench/lib/servers.sh
. "$BENCH/lib/servers.sh"

need_cmds wrk nginx taskset curl cc "$PY"
need_release_bin "$TYCHO_BIN"
bench_workdir ceiling

cc -O2 -Wall -Wextra -Werror -o "$WORK/ceiling" "$BENCH/ceiling/ceiling.c" || die "ceiling.c did not build"

declare -A url
start_tycho ceiling
url[tycho]=$SRV_URL
start_openresty ceiling
url[openresty]=$SRV_URL
cport=$(free_port)
spawn "$WORK/ceiling.log" taskset -c "$SERVER_CPU" "$WORK/ceiling" "$cport"
url[ceiling]="http://127.0.0.1:$cport/json"
wait_http "${url[ceiling]}" || die "ceiling did not come up: $(cat "$WORK/ceiling.log")"
order=(tycho openresty ceiling)

cpu_ticks() { # cpu -> "user system softirq idle" (user includes nice)
  awk -v c="cpu$1" '$1 == c { print $2 + $3, $4, $8, $5 + $6 }' /proc/stat
}
for s in "${order[@]}"; do
  log "$s: $(curl -s -D - -o /dev/null "${url[$s]}" | tr -d '\r' | grep -iE '^content-(length|type)' | tr '\n' ' ')body $(curl -s "${url[$s]}")"
  timeout 20 taskset -c "$CLIENT_CPU" wrk -t1 -c"$CONNECTIONS" -d1s "${url[$s]}" >/dev/null 2>&1 || true
done
log "load: $(cut -d' ' -f1-3 /proc/loadavg); $RUNS runs of ${DURATION}s, wrk -t1 -c$CONNECTIONS on CPU $CLIENT_CPU, servers on CPU $SERVER_CPU"
for i in $(seq "$RUNS"); do
  for s in "${order[@]}"; do
    read -r su ss sq si <<<"$(cpu_ticks "$SERVER_CPU")"
    read -r cu cs cq ci <<<"$(cpu_ticks "$CLIENT_CPU")"
    run_wrk ceiling "$s" "$i" "${url[$s]}"
    read -r su2 ss2 sq2 si2 <<<"$(cpu_ticks "$SERVER_CPU")"
    read -r cu2 cs2 cq2 ci2 <<<"$(cpu_ticks "$CLIENT_CPU")"
    record ceiling "$s" srv_user "$i" $((su2 - su))
    record ceiling "$s" srv_sys "$i" $((ss2 - ss))
    record ceiling "$s" srv_softirq "$i" $((sq2 - sq))
    record ceiling "$s" srv_idle "$i" $((si2 - si))
    record ceiling "$s" cli_busy "$i" $(((cu2 - cu) + (cs2 - cs) + (cq2 - cq)))
    record ceiling "$s" cli_idle "$i" $((ci2 - ci))
  done
done
log "load after: $(cut -d' ' -f1-3 /proc/loadavg)"

"$PY" - "$TSV" "$RAW/summary.md" "$(getconf CLK_TCK)" "$DURATION" <<'EOF'
import statistics, sys, time
tsv, out_path, hz, secs = sys.argv[1], sys.argv[2], float(sys.argv[3]), float(sys.argv[4])
vals = {}
for sc, subj, metric, run, v in (l.rstrip("\n").split("\t") for l in open(tsv)):
    vals.setdefault(subj, {}).setdefault(int(run), {})[metric] = float(v)
def per_run(subj, f):
    return statistics.median(f(r) for r in vals[subj].values())
def us_per_req(metric):  # CPU ticks of the run -> microseconds per request
    return lambda r: r[metric] / hz * 1e6 / (r["rps"] * secs)
def busy(prefix):
    return lambda r: 100.0 * r[prefix + "_busy"] / (r[prefix + "_busy"] + r[prefix + "_idle"])
for r in (r for s in vals.values() for r in s.values()):
    r["srv_busy"] = r["srv_user"] + r["srv_sys"] + r["srv_softirq"]
    r["srv_kernel"] = r["srv_sys"] + r["srv_softirq"]
rows = ["| server | req/s median (min-max) | ÷ OpenResty | server core busy | its user µs/req | its kernel µs/req (sys + softirq) | client core busy |",
        "|---|---|---|---|---|---|---|"]
base = per_run("openresty", lambda r: r["rps"])
for s in ("tycho", "openresty", "ceiling"):
    rps = [r["rps"] for r in vals[s].values()]
    rows.append("| %s | %.0f (%.0f-%.0f) | %.2f× | %.0f %% | %.2f | %.2f | %.0f %% |" % (
        s, statistics.median(rps), min(rps), max(rps), statistics.median(rps) / base,
        per_run(s, busy("srv")), per_run(s, us_per_req("srv_user")), per_run(s, us_per_req("srv_kernel")),
        per_run(s, busy("cli"))))
o_user, o_kern = per_run("openresty", us_per_req("srv_user")), per_run("openresty", us_per_req("srv_kernel"))
t_kern = per_run("tycho", us_per_req("srv_kernel"))
rows += ["", "ceiling ÷ OpenResty: %.2f× (the most any server reaches in this setup)" % (
             per_run("ceiling", lambda r: r["rps"]) / base),
         "tycho ÷ OpenResty: %.2f×" % (per_run("tycho", lambda r: r["rps"]) / base),
         "server-core bound: were tycho's user time zero, OpenResty's (user + kernel) ÷ tycho's kernel = %.2f×" % (
             (o_user + o_kern) / t_kern)]
print("\n".join(rows))
with open(out_path, "w") as f:
    f.write("# HTTP engine ceiling (%s)\n\n%s\n" % (time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), "\n".join(rows)))
EOF
