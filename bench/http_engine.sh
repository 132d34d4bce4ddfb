#!/usr/bin/env bash
# HTTP engine benchmark: tycho (a Lua route) against OpenResty's engine (Debian
# nginx + libnginx-mod-http-lua, a content_by_lua_block), both answering
# GET /json with {"ok":true} and a Content-Length. One worker each, pinned to
# CPU 0; wrk pinned to CPU 1 (-t1 -c50). Runs are interleaved (A B A B ...)
# so background noise hits both alike; prints every run, medians with
# min-max, and the ratios tycho / OpenResty. A script, not a timed test.
#
#   RUNS=5 DURATION=5 CONNECTIONS=50 bench/http_engine.sh
#   TYCHO_BIN=build/tycho (default)   RESULTS=bench/results (raw wrk output under raw/)
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${RUNS:-5}
DURATION=${DURATION:-5}
CONNECTIONS=${CONNECTIONS:-50}
BIN=${TYCHO_BIN:-build/tycho}
RESULTS=${RESULTS:-bench/results}
SERVER_CPU=${SERVER_CPU:-0}
CLIENT_CPU=${CLIENT_CPU:-1}

for cmd in wrk nginx taskset /usr/bin/python3; do
  command -v "$cmd" >/dev/null || { echo "missing $cmd (scripts/setup installs wrk, nginx, libnginx-mod-http-lua)"; exit 1; }
done
[ -x "$BIN" ] || { echo "no tycho binary at $BIN (scripts/build)"; exit 1; }
[ -f /usr/lib/nginx/modules/ngx_http_lua_module.so ] || { echo "missing libnginx-mod-http-lua"; exit 1; }

work=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
mkdir -p "$RESULTS/raw" "$work/nginx/tmp"

free_port() { /usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_http() { # url
  for _ in $(seq 100); do
    curl -fs -o /dev/null "$1" && return 0
    sleep 0.05
  done
  echo "server at $1 did not come up"; exit 1
}

# --- tycho ---------------------------------------------------------------------
TYCHO_ACCESS_LOG=off TYCHO_RELOAD=off taskset -c "$SERVER_CPU" "$BIN" serve --workers 1 \
  --routes bench/routes --listen 127.0.0.1:0 --admin-listen 127.0.0.1:0 >"$work/tycho.log" 2>&1 &
pids+=($!)
for _ in $(seq 100); do grep -q '"listening"' "$work/tycho.log" && break; sleep 0.05; done
tport=$(grep -o '"public":"[^"]*"' "$work/tycho.log" | head -1 | sed 's/.*:\([0-9]*\)"$/\1/')
[ -n "$tport" ] || { cat "$work/tycho.log"; exit 1; }
TYCHO_URL="http://127.0.0.1:$tport/json"

# --- OpenResty's engine --------------------------------------------------------
nport=$(free_port)
sed -e "s|__PORT__|$nport|" -e "s|__PREFIX__|$work/nginx|g" bench/openresty/nginx.conf >"$work/nginx/nginx.conf"
taskset -c "$SERVER_CPU" nginx -c "$work/nginx/nginx.conf" -p "$work/nginx" >"$work/nginx.log" 2>&1 &
pids+=($!)
NGINX_URL="http://127.0.0.1:$nport/json"

wait_http "$TYCHO_URL"
wait_http "$NGINX_URL"
echo "tycho:     $(curl -s -D - -o /dev/null "$TYCHO_URL" | tr -d '\r' | grep -iE '^(content-length|content-type)' | tr '\n' ' ')body $(curl -s "$TYCHO_URL")"
echo "openresty: $(curl -s -D - -o /dev/null "$NGINX_URL" | tr -d '\r' | grep -iE '^(content-length|content-type)' | tr '\n' ' ')body $(curl -s "$NGINX_URL")"

run_wrk() { # name url run
  local out="$RESULTS/raw/$1-$3.txt"
  taskset -c "$CLIENT_CPU" wrk -t1 -c"$CONNECTIONS" -d"${DURATION}s" --latency "$2" >"$out"
  local rps p50 p99 err
  rps=$(awk '/^Requests\/sec:/ {print $2}' "$out")
  p50=$(awk '$1 == "50%" {print $2}' "$out")
  p99=$(awk '$1 == "99%" {print $2}' "$out")
  err=$(grep -E 'Socket errors|Non-2xx' "$out" | tr '\n' ' ' || true)
  printf '%-10s run %d: %10.0f req/s  p50 %-8s p99 %-8s %s\n' "$1" "$3" "$rps" "$p50" "$p99" "$err"
  echo "$1 $3 $rps $p50 $p99" >>"$work/results"
}

# warm-up (JIT, caches, TCP), not recorded
taskset -c "$CLIENT_CPU" wrk -t1 -c"$CONNECTIONS" -d1s "$TYCHO_URL" >/dev/null
taskset -c "$CLIENT_CPU" wrk -t1 -c"$CONNECTIONS" -d1s "$NGINX_URL" >/dev/null

echo "load: $(cut -d' ' -f1-3 /proc/loadavg); $RUNS runs each, ${DURATION}s, $CONNECTIONS connections, server on CPU $SERVER_CPU, wrk on CPU $CLIENT_CPU"
for i in $(seq 1 "$RUNS"); do
  run_wrk tycho "$TYCHO_URL" "$i"
  run_wrk openresty "$NGINX_URL" "$i"
done

/usr/bin/python3 - "$work/results" "$RESULTS/raw/http_engine-summary.md" <<'EOF'
import statistics, sys, time

def ms(s):  # wrk latency: 512.00us, 1.20ms, 2.00s
    for unit, f in (("us", 1e-3), ("ms", 1.0), ("s", 1e3)):
        if s.endswith(unit):
            return float(s[: -len(unit)]) * f
    return float(s)

rows = [line.split() for line in open(sys.argv[1])]
data = {}
for name, run, rps, p50, p99 in rows:
    d = data.setdefault(name, {"rps": [], "p50": [], "p99": []})
    d["rps"].append(float(rps)); d["p50"].append(ms(p50)); d["p99"].append(ms(p99))
med = {n: {k: statistics.median(v) for k, v in d.items()} for n, d in data.items()}
lines = ["| server | req/s median (min-max) | p50 ms median (min-max) | p99 ms median (min-max) |",
         "|---|---|---|---|"]
for n, d in data.items():
    lines.append("| %s | %.0f (%.0f-%.0f) | %.3f (%.3f-%.3f) | %.3f (%.3f-%.3f) |" % (
        n, med[n]["rps"], min(d["rps"]), max(d["rps"]), med[n]["p50"], min(d["p50"]), max(d["p50"]),
        med[n]["p99"], min(d["p99"]), max(d["p99"])))
t, o = med["tycho"], med["openresty"]
lines.append("")
lines.append("ratio tycho / OpenResty: req/s %.2f, p50 %.2f, p99 %.2f (medians of %d interleaved runs)" % (
    t["rps"] / o["rps"], t["p50"] / o["p50"], t["p99"] / o["p99"], len(data["tycho"]["rps"])))
text = "\n".join(lines)
print(); print(text)
with open(sys.argv[2], "w") as f:
    f.write("# HTTP engine: tycho vs OpenResty (%s)\n\n%s\n" % (time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), text))
EOF
