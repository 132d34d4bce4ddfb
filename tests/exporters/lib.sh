# Shared by tests/exporters/test_*.sh: peers, receiver, driver, assertions.
# Every helper fails the test (exit 1) when what it needs is missing.
set -euo pipefail
: "${TYCHO_SRC:?}" "${TYCHO_BUILD:?}"
EXP_DIR="$TYCHO_SRC/tests/exporters"
DRIVER="$TYCHO_BUILD/tools/export_driver"
WORK=$(mktemp -d "${TMPDIR:-/tmp}/tycho-exp.XXXXXX")
PIDS=()
SERVES=() # the tycho servers of start_serve, also in PIDS

# Stops what the test started: the tycho servers first, while the receivers
# still answer their final flush (with a receiver gone a server retries it
# until TYCHO_DRAIN_TIMEOUT, 25 s), then the rest.
cleanup() {
    for p in "${SERVES[@]:-}"; do [ -n "$p" ] && stop_pid "$p"; done
    for p in "${PIDS[@]:-}"; do [ -n "$p" ] && kill "$p" 2>/dev/null || true; done
    for p in "${PIDS[@]:-}"; do [ -n "$p" ] && wait "$p" 2>/dev/null || true; done
    rm -rf "$WORK"
}
trap cleanup EXIT

fail() {
    echo "FAIL: $*" >&2
    exit 1
}

[ -x "$DRIVER" ] || fail "missing $DRIVER (build the tools: make tool_export_driver)"
command -v node >/dev/null || fail "node not found (install nodejs; scripts/setup does)"
# The decoders come from npm (scripts/setup installs them); tests running in
# parallel take a lock so only one of them runs npm ci.
(
    flock 9
    if [ ! -d "$EXP_DIR/node_modules/@opentelemetry/otlp-transformer" ] ||
        [ ! -d "$EXP_DIR/node_modules/snappyjs" ]; then
        cd "$EXP_DIR" && npm ci --no-audit --no-fund --loglevel=error
    fi
) 9>"${TMPDIR:-/tmp}/tycho-exporters-npm.lock" ||
    fail "npm ci in tests/exporters failed (the test decoders come from npm)"

# start_receiver NAME: a loopback receiver.js; sets ${NAME}_PORT and ${NAME}_PID.
start_receiver() {
    local name=$1 port=${2:-0} out="$WORK/$1.port" try pid t0=$SECONDS
    # A restart on a fixed port may meet it still held for a moment
    # (EADDRINUSE): the receiver exits and is started again.
    for try in 1 2 3 4 5; do
        # Emptied here, not by the child's redirection: the child opens the
        # files some time after `&` returns, and until then a restart would
        # read the previous receiver's PORT line, then lose it to the
        # child's truncation ("did not start" with nothing on stderr).
        : >"$out"
        : >"$WORK/$1.err"
        node "$EXP_DIR/receiver.js" "$port" >>"$out" 2>>"$WORK/$1.err" &
        pid=$!
        PIDS+=("$pid")
        # (node may take seconds to start on a loaded machine)
        for _ in $(seq 400); do
            grep -q '^PORT ' "$out" 2>/dev/null && break
            receiver_gone "$pid" && break
            sleep 0.05
        done
        grep -q '^PORT ' "$out" && break
        stop_pid "$pid"
        echo "receiver $name (port $port), attempt $try: no PORT line after $((SECONDS - t0))s:" \
            "$(head -c 400 "$WORK/$1.err")" >&2
        sleep 0.3
    done
    grep -q '^PORT ' "$out" || fail "receiver $name did not start: $(cat "$WORK/$1.err")"
    printf -v "${name}_PORT" '%s' "$(sed -n 's/^PORT //p' "$out")"
    printf -v "${name}_PID" '%s' "$pid"
}

# start_serve ARGS...: `tycho serve` of the test routes ($ROUTES, default
# routes/: what bench/exporters_ir.sh serves too) on loopback ports it picks, with its own data dir and the caller's environment (VAR=x
# start_serve ... sets one for it), output in $WORK/serve.log; sets SERVE
# (its pid), PUB and ADM (host:port of the public and admin listeners) once
# it listens.
start_serve() {
    "$TYCHO_BIN" serve --routes "${ROUTES:-$EXP_DIR/routes}" --listen 127.0.0.1:0 --admin-listen 127.0.0.1:0 \
        --data-dir "$WORK/data" "$@" >"$WORK/serve.log" 2>&1 &
    SERVE=$!
    PIDS+=("$SERVE")
    SERVES+=("$SERVE")
    for _ in $(seq 200); do grep -q '"listening"' "$WORK/serve.log" && break; sleep 0.05; done
    PUB=$(grep -o '"public":"[^"]*"' "$WORK/serve.log" | head -1 | cut -d'"' -f4)
    ADM=$(grep -o '"admin":"[^"]*"' "$WORK/serve.log" | head -1 | cut -d'"' -f4)
    [ -n "$PUB" ] || fail "tycho did not start: $(head -5 "$WORK/serve.log")"
}

# receiver_gone PID: the process has exited (a zombie not yet reaped counts).
receiver_gone() {
    ! kill -0 "$1" 2>/dev/null || grep -q '^State:.*Z' "/proc/$1/status" 2>/dev/null
}

# stop_pid PID: stops one process we started.
stop_pid() {
    kill "$1" 2>/dev/null || true
    wait "$1" 2>/dev/null || true
}

# mode PORT JSON: sets the receiver's behaviour.
mode() {
    curl -sf -X POST -d "$2" "http://127.0.0.1:$1/__mode" >/dev/null || fail "cannot set mode on :$1"
}

# captured PORT FILE: saves what the receiver captured.
captured() {
    curl -sf "http://127.0.0.1:$1/__captured" >"$2" || fail "cannot read captures from :$1"
}

# take_captured PORT FILE: saves what the receiver captured and forgets it, in one step.
take_captured() {
    curl -sf -X POST "http://127.0.0.1:$1/__take" >"$2" || fail "cannot take captures from :$1"
}

reset_captured() {
    curl -sf -X POST "http://127.0.0.1:$1/__reset" >/dev/null || fail "cannot reset :$1"
}

# last_status FILE: the last STATUS json the driver printed.
last_status() {
    sed -n 's/^STATUS //p' "$1" | tail -n1
}

# js BODY ARG...: runs BODY (JavaScript, the function of `args`, the ARG
# strings) in the test's one long-lived node (js_eval.js) and prints what it
# returns; fails (1, the exception on stderr) when it throws. Works inside
# $(...) and pipelines too.
coproc JS_EVAL { exec node "$EXP_DIR/js_eval.js"; }
PIDS+=("$JS_EVAL_PID")
# (bash closes a coproc's own descriptors in pipelines' subshells: copies)
exec {JS_TO}>&"${JS_EVAL[1]}" {JS_FROM}<&"${JS_EVAL[0]}"
js() {
    local body=$1 status out
    shift
    printf '%s\0%d\0' "$body" "$#" >&"$JS_TO"
    [ "$#" -eq 0 ] || printf '%s\0' "$@" >&"$JS_TO"
    IFS= read -r -d '' status <&"$JS_FROM" || fail "js_eval.js stopped answering"
    IFS= read -r -d '' out <&"$JS_FROM" || fail "js_eval.js stopped answering"
    [ "$status" = 0 ] || { printf '%s\n' "$out" >&2; return 1; }
    printf '%s\n' "$out"
}

# jsget JSON EXPR: evaluates a JS expression over the parsed JSON (as `s`).
jsget() {
    js 'const s = JSON.parse(args[0]); return eval(args[1]);' "$1" "$2"
}

tycho_version() {
    sed -n 's/^project(tycho VERSION \([0-9.]*\).*/\1/p' "$TYCHO_SRC/CMakeLists.txt"
}

# free_port: a free loopback port below the kernel's ephemeral range, so that
# no outgoing connection takes it while the receiver meant for it is down.
free_port() {
    node -e '
const net = require("net");
const range = require("fs").readFileSync("/proc/sys/net/ipv4/ip_local_port_range", "utf8");
const base = 10000, span = Math.max(Number(range.split(/\s+/)[0]) - base, 1000);
(function next(tries) {
  if (!tries) throw new Error("no free port");
  const p = base + Math.floor(Math.random() * span);
  const s = net.createServer().once("error", () => next(tries - 1))
    .listen(p, "127.0.0.1", () => { console.log(p); s.close(); });
})(50);'
}

# start_prometheus: Debian prometheus with the remote-write receiver on a
# free loopback port; sets PROM_PORT.
start_prometheus() {
    command -v prometheus >/dev/null ||
        fail "prometheus not found (Debian package prometheus; scripts/setup installs it)"
    PROM_PORT=$(free_port)
    mkdir -p "$WORK/prom/data"
    cat >"$WORK/prom/prometheus.yml" <<YML
global:
  scrape_interval: 1h
  evaluation_interval: 1h
YML
    prometheus --config.file="$WORK/prom/prometheus.yml" --storage.tsdb.path="$WORK/prom/data" \
        --web.listen-address="127.0.0.1:$PROM_PORT" --web.enable-remote-write-receiver \
        --log.level=warn >"$WORK/prom/log" 2>&1 &
    PIDS+=("$!")
    local pid=$!
    for _ in $(seq 200); do
        curl -sf "http://127.0.0.1:$PROM_PORT/-/ready" >/dev/null 2>&1 && return 0
        kill -0 "$pid" 2>/dev/null || fail "prometheus died: $(tail -5 "$WORK/prom/log")"
        sleep 0.1
    done
    fail "prometheus not ready: $(tail -5 "$WORK/prom/log")"
}

# promql QUERY: the instant-query result array (JSON).
promql() { # QUERY [TIME]: the result (JSON) of an instant query, at TIME (unix seconds) or now
    curl -sfG "http://127.0.0.1:$PROM_PORT/api/v1/query" --data-urlencode "query=$1" \
        ${2:+--data-urlencode "time=$2"} |
        node -e 'let d="";process.stdin.on("data",c=>d+=c).on("end",()=>{const j=JSON.parse(d);if(j.status!=="success")process.exit(1);console.log(JSON.stringify(j.data.result))})'
}

# wait_lines FILE PATTERN N [SECONDS]: waits until FILE has N lines matching.
wait_lines() {
    local file=$1 pat=$2 n=$3 secs=${4:-30}
    for _ in $(seq $((secs * 20))); do
        [ "$(grep -c "$pat" "$file" 2>/dev/null || true)" -ge "$n" ] && return 0
        sleep 0.05
    done
    fail "timed out waiting for $n x '$pat' in $file: $(cat "$file")"
}

# nth_status FILE N: the N-th STATUS json (1-based).
nth_status() {
    sed -n 's/^STATUS //p' "$1" | sed -n "${2}p"
}

summary() { # FILE KIND
    node "$EXP_DIR/capture_summary.js" "$1" "$2"
}
