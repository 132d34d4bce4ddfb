# shellcheck shell=bash
# bench/run's scenarios, one function each (sourced after common.sh,
# servers.sh and tests/lib/aws_json.sh). Every one records rows with
# `record` and stops what it started.

# 1. The Lua JSON route: tycho vs OpenResty vs FastAPI (two stacks). All four
#    servers stay up (idle servers cost nothing) and are loaded in turn,
#    interleaved run by run.
scenario_1() {
  log "1: JSON route, wrk -t1 -c$CONNECTIONS ${DURATION}s x $RUNS, then open-loop at $RATE req/s"
  local -A url
  start_tycho s1
  url[tycho]=$SRV_URL
  start_openresty s1
  url[openresty]=$SRV_URL
  start_fastapi s1-uvloop uvloop
  url[fastapi-uvloop]=$SRV_URL
  start_fastapi s1-h11 h11
  url[fastapi-h11]=$SRV_URL
  local order=(tycho openresty fastapi-uvloop fastapi-h11) s i
  for s in "${order[@]}"; do
    log "  $s: $(curl -s -D - -o /dev/null "${url[$s]}" | tr -d '\r' | grep -iE '^content-(length|type)' | tr '\n' ' ')body $(curl -s "${url[$s]}")"
    timeout 20 taskset -c "$CLIENT_CPU" wrk -t1 -c"$CONNECTIONS" -d"$WARMUP"s "${url[$s]}" >/dev/null 2>&1 || true
  done
  note s1 "load: $(cut -d' ' -f1-3 /proc/loadavg) (1/5/15-min load average at the start)"
  for i in $(seq "$RUNS"); do
    for s in "${order[@]}"; do run_wrk s1 "$s" "$i" "${url[$s]}"; done
  done
  for i in $(seq "$RUNS"); do
    for s in "${order[@]}"; do run_rate s1 "$s" "$i" "${url[$s]}" "$RATE" "$RATE_DURATION"; done
  done
  stop_all
}

# 2. tycho with its telemetry on (metrics, every request traced, access log to
#    /dev/null, spans exported over OTLP/HTTP to a loopback sink when the
#    binary has the exporter) vs off, and OpenResty bare as the yardstick.
scenario_2() {
  log "2: telemetry on vs off, wrk -t1 -c$CONNECTIONS ${DURATION}s x $RUNS"
  local -A url
  local otlp=() sinkpid=""
  if grep -q OTEL_EXPORTER_OTLP_TRACES_ENDPOINT "$TYCHO_BIN" 2>/dev/null; then
    local sport
    sport=$(free_port)
    spawn "$WORK/otlp-sink.log" env SINK_COUNT="$WORK/otlp-sink" taskset -c "$CLIENT_CPU" "$PY" "$BENCH/lib/drivers.py" otlp-sink "$sport"
    sinkpid=$SPAWNED
    otlp=(OTEL_TRACES_EXPORTER=otlp OTEL_EXPORTER_OTLP_TRACES_ENDPOINT="http://127.0.0.1:$sport/v1/traces")
    note s2 "telemetry on: spans exported as OTLP/HTTP protobuf to a loopback sink (bench/lib/drivers.py otlp-sink, on the client core)"
  else
    note s2 "telemetry on: this binary has no OTLP exporter wired, so spans are made, sampled and drained on the telemetry thread but not exported"
  fi
  start_tycho s2-off TYCHO_ACCESS_LOG=off OTEL_TRACES_SAMPLER=always_off
  url[tycho-telemetry-off]=$SRV_URL
  TYCHO_LOG_FILE=/dev/null start_tycho s2-on TYCHO_ACCESS_LOG=on OTEL_TRACES_SAMPLER=always_on "${otlp[@]}"
  url[tycho-telemetry-on]=$SRV_URL
  local onadmin=$SRV_ADMIN
  # the same with no exporter: metrics and the access log, spans sampled but
  # not built (nothing consumes them)
  TYCHO_LOG_FILE=/dev/null start_tycho s2-local TYCHO_ACCESS_LOG=on OTEL_TRACES_SAMPLER=always_on
  url[tycho-telemetry-unexported]=$SRV_URL
  start_openresty s2
  url[openresty]=$SRV_URL
  local order=(tycho-telemetry-on tycho-telemetry-unexported tycho-telemetry-off openresty) s i
  for s in "${order[@]}"; do
    timeout 20 taskset -c "$CLIENT_CPU" wrk -t1 -c"$CONNECTIONS" -d"$WARMUP"s "${url[$s]}" >/dev/null 2>&1 || true
  done
  for i in $(seq "$RUNS"); do
    for s in "${order[@]}"; do run_wrk s2 "$s" "$i" "${url[$s]}"; done
  done
  # What the telemetry-on server says it did (spans dropped, metrics present).
  curl -s -m 5 "$onadmin/metrics" >"$RAW/s2-telemetry-on.metrics" || true
  local dropped
  dropped=$(awk '/^tycho_telemetry_dropped_total/ {s += $NF} END {print s + 0}' "$RAW/s2-telemetry-on.metrics")
  note s2 "telemetry-on server's tycho_telemetry_dropped_total at the end: $dropped"
  stop_all
  if [ -n "$sinkpid" ] && [ -f "$WORK/otlp-sink.count" ]; then
    note s2 "OTLP sink received: $(cat "$WORK/otlp-sink.count")"
  fi
}

# 3. Instructions per request under callgrind: each server runs under
#    valgrind twice, once sending W warm-up + N requests, once sending the W
#    warm-up requests and then idling as long as the N took; Ir difference / N.
cg_total() { # callgrind.out file -> total Ir
  awk '/^(summary|totals):/ {print $2; exit}' "$1"
}
cg_run() { # subject mode(req|idle) seconds-to-idle -> sets CG_OUT, CG_SECS
  local subj=$1 mode=$2 idle=${3:-0}
  CG_OUT="$WORK/cg-$subj-$mode.out"
  local vg=(valgrind --tool=callgrind --callgrind-out-file="$CG_OUT" --dump-instr=no)
  if [ "$subj" = tycho ]; then
    # valgrind runs threads one at a time: a single-core world, like the pin.
    TYCHO_WRAPPER="${vg[*]}" TYCHO_START_TIMEOUT=120 start_tycho "cg-$mode"
  else
    NGINX_MAIN="master_process off;" NGINX_WRAPPER="${vg[*]}" NGINX_START_TIMEOUT=120 start_openresty "cg-$mode"
  fi
  local pid=$SRV_PID
  timeout 300 "$PY" "$BENCH/lib/drivers.py" sequential "$SRV_URL" "$CG_WARM" >/dev/null
  if [ "$mode" = req ]; then
    CG_SECS=$(timeout 600 "$PY" "$BENCH/lib/drivers.py" sequential "$SRV_URL" "$CG_REQUESTS")
  else
    sleep "$idle"
  fi
  stop_pid "$pid" TERM
  BENCH_PIDS=()
  [ -s "$CG_OUT" ] || die "callgrind wrote no profile for $subj ($mode)"
}
scenario_3() {
  command -v valgrind >/dev/null || {
    note s3 "skipped: valgrind missing"
    return 0
  }
  log "3: callgrind, $CG_WARM warm-up + $CG_REQUESTS keep-alive requests (one connection, one at a time)"
  local s req base secs
  for s in tycho openresty; do
    cg_run "$s" req
    req=$(cg_total "$CG_OUT")
    secs=$CG_SECS
    cp "$CG_OUT" "$RAW/s3-$s.callgrind"
    cg_run "$s" idle "$secs"
    base=$(cg_total "$CG_OUT")
    local per=$(((req - base) / CG_REQUESTS))
    record s3 "$s" ir_per_request 1 "$per"
    record s3 "$s" ir_total_with_requests 1 "$req"
    record s3 "$s" ir_total_baseline 1 "$base"
    log "  $s: $req Ir with requests, $base without -> $per Ir/request"
  done
  note s3 "valgrind $(valgrind --version | sed 's/valgrind-//'); one run each (callgrind counts are deterministic up to timer and scheduling noise); the requests are sequential on one keep-alive connection, so per-request syscalls (read, write, epoll) are included"
}

# 4. The reference app's /workflow (save an item, send an SQS message, the
#    in-process consumer marks the item processed): on the embedded local
#    backend, and over HTTP on dynalite + local-aws-sqs (the test peers, on the
#    client core: they stand in for AWS), interleaved. wrk at -c$WORKFLOW_CONNECTIONS.
scenario_4() {
  if [ ! -f "$ROOT/routes/workflow.lua" ]; then
    note s4 "skipped: not available (routes/workflow.lua does not exist in this tree)"
    log "4: skipped: routes/workflow.lua not available"
    return 0
  fi
  local peers=$ROOT/tests/peers/node_modules
  log "4: /workflow, wrk -t1 -c$WORKFLOW_CONNECTIONS ${DURATION}s x $RUNS, local backend vs dynalite + local-aws-sqs"
  local -A wurl
  TYCHO_ROUTES_DIR=$ROOT/routes start_tycho s4-local TYCHO_AWS_BACKEND=local
  wurl[workflow-local]=${SRV_URL%/json}/workflow
  if [ -d "$peers/dynalite" ] && [ -d "$peers/local-aws-sqs" ] && command -v node >/dev/null; then
    local dport sport
    dport=$(free_port)
    sport=$(free_port)
    spawn "$WORK/dynalite.log" taskset -c "$CLIENT_CPU" node "$peers/dynalite/cli.js" --host 127.0.0.1 --port "$dport" --createTableMs 0
    spawn "$WORK/local-sqs.log" taskset -c "$CLIENT_CPU" node "$ROOT/tests/peers/sqs_server.js" "$sport"
    local i
    for i in $(seq 100); do
      curl -s -m 1 -o /dev/null "http://127.0.0.1:$dport/" && curl -s -m 1 -o /dev/null "http://127.0.0.1:$sport/" && break
      sleep 0.1
    done
    tycho_aws_json "http://127.0.0.1:$dport/" DynamoDB_20120810.CreateTable '{"TableName":"bench-app-data","BillingMode":"PAY_PER_REQUEST",
      "AttributeDefinitions":[{"AttributeName":"id","AttributeType":"S"},{"AttributeName":"timestamp","AttributeType":"S"},
        {"AttributeName":"user_id","AttributeType":"S"},{"AttributeName":"created_at","AttributeType":"S"}],
      "KeySchema":[{"AttributeName":"id","KeyType":"HASH"},{"AttributeName":"timestamp","KeyType":"RANGE"}],
      "GlobalSecondaryIndexes":[{"IndexName":"user-index","KeySchema":[{"AttributeName":"user_id","KeyType":"HASH"},
        {"AttributeName":"created_at","KeyType":"RANGE"}],"Projection":{"ProjectionType":"ALL"}}]}' >/dev/null ||
      die "dynalite: CreateTable failed"
    tycho_table_wait_active "http://127.0.0.1:$dport" bench-app-data || die "dynalite: the table did not turn ACTIVE"
    tycho_aws_json "http://127.0.0.1:$sport/" AmazonSQS.CreateQueue '{"QueueName":"bench-messages-dlq"}' >/dev/null
    local qurl
    qurl=$(tycho_aws_json "http://127.0.0.1:$sport/" AmazonSQS.CreateQueue '{"QueueName":"bench-messages"}' |
      "$PY" -c 'import json, sys; print(json.load(sys.stdin)["QueueUrl"])') || die "local-aws-sqs: CreateQueue failed"
    TYCHO_ROUTES_DIR=$ROOT/routes start_tycho s4-peers TYCHO_AWS_BACKEND=aws \
      AWS_ENDPOINT_URL_DYNAMODB="http://127.0.0.1:$dport" AWS_ENDPOINT_URL_SQS="http://127.0.0.1:$sport" \
      AWS_ACCESS_KEY_ID=AKIDEXAMPLE AWS_SECRET_ACCESS_KEY=bench AWS_REGION=us-east-1 AWS_EC2_METADATA_DISABLED=true \
      DYNAMODB_APP_TABLE=bench-app-data SQS_MESSAGE_QUEUE_URL="$qurl" SQS_DEAD_LETTER_QUEUE_URL="${qurl}-dlq"
    wurl[workflow-dynalite+sqs]=${SRV_URL%/json}/workflow
  else
    note s4 "dynalite + local-aws-sqs: skipped, tests/peers/node_modules missing (scripts/setup runs npm ci there)"
  fi
  local s
  for s in "${!wurl[@]}"; do
    log "  $s: $(curl -s -m 5 -o /dev/null -w '%{http_code}' "${wurl[$s]}") $(curl -s -m 5 "${wurl[$s]}" | head -c 160)"
    timeout 20 taskset -c "$CLIENT_CPU" wrk -t1 -c"$WORKFLOW_CONNECTIONS" -d"$WARMUP"s "${wurl[$s]}" >/dev/null 2>&1 || true
  done
  for i in $(seq "$RUNS"); do
    for s in workflow-local workflow-dynalite+sqs; do
      [ -n "${wurl[$s]:-}" ] || continue
      CONNECTIONS=$WORKFLOW_CONNECTIONS run_wrk s4 "$s" "$i" "${wurl[$s]}"
    done
  done
  note s4 "each request: DynamoDB PutItem + SQS SendMessage in one trace, the consumer (4 in flight, same worker) receives, updates the item and deletes the message; the local backend is SQLite with fsync on every acknowledged write; the peers (node) run on the client core"
  stop_all
}

# 5. Non-blocking: /health latency while 500 requests wait on a slow loopback
#    "AWS" (bench/nonblocking.sh, written with the HTTP engine tests).
scenario_5() {
  if [ ! -x "$BENCH/nonblocking.sh" ]; then
    note s5 "skipped: not available (bench/nonblocking.sh does not exist in this tree)"
    log "5: skipped: bench/nonblocking.sh not available"
    return 0
  fi
  log "5: bench/nonblocking.sh (${DURATION}s per load)"
  local rc=0
  timeout 300 env TYCHO_BIN="$TYCHO_BIN" DURATION="$((DURATION < 4 ? 4 : DURATION))" SERVER_CPU="$SERVER_CPU" \
    CLIENT_CPU="$CLIENT_CPU" "$BENCH/nonblocking.sh" >"$RAW/s5-nonblocking.txt" 2>&1 || rc=$?
  note s5 "bench/nonblocking.sh exit $rc; its table:"
  local line
  while IFS= read -r line; do note s5 "$line"; done < <(grep -E '^\|' "$RAW/s5-nonblocking.txt")
  grep -E '^(PASS|FAIL)' "$RAW/s5-nonblocking.txt" | while IFS= read -r line; do note s5 "$line"; done
  # /health p99 under each load: column 4 of the rows for /slow-*
  awk -F'|' '$2 ~ /\/slow-/ {gsub(/ /, "", $4); print $4}' "$RAW/s5-nonblocking.txt" | while read -r p; do
    record s5 tycho health_p99_ms 1 "$p"
  done
}

# 6. Reload under load: wrk against tycho while, every 100 ms, its route file
#    is rewritten and POST /-/reload is sent to the admin listener (each one a
#    full reload: load, check, swap on the worker), interleaved with runs of
#    the same server without reloads.
scenario_6() {
  log "6: reload every ${RELOAD_INTERVAL}s under wrk -c$CONNECTIONS ${DURATION}s x $RUNS"
  local rdir="$WORK/reload-routes"
  mkdir -p "$rdir"
  cp "$BENCH"/routes/*.lua "$rdir/"
  TYCHO_ROUTES_DIR=$rdir start_tycho s6
  local u=$SRV_URL admin=$SRV_ADMIN i
  timeout 20 taskset -c "$CLIENT_CPU" wrk -t1 -c"$CONNECTIONS" -d"$WARMUP"s "$u" >/dev/null 2>&1 || true
  for i in $(seq "$RUNS"); do
    local g0 g1 rpid
    g0=$(generation "$admin")
    # The reloader runs on the client core: it is load, not server work.
    (
      n=0 bad=0
      end=$((SECONDS + DURATION))
      while ((SECONDS < end)); do
        n=$((n + 1))
        { cat "$BENCH/routes/bench.lua"; echo "-- rewrite $n"; } >"$rdir/bench.lua.tmp"
        mv "$rdir/bench.lua.tmp" "$rdir/bench.lua"
        code=$(curl -s -m 2 -o /dev/null -w '%{http_code}' -X POST "$admin/-/reload") || true
        [ "$code" = 200 ] || bad=$((bad + 1))
        sleep "$RELOAD_INTERVAL"
      done
      echo "$n $bad" >"$WORK/reloader.out"
    ) &
    rpid=$!
    run_wrk s6 tycho-reloading "$i" "$u"
    wait "$rpid" || true
    g1=$(generation "$admin")
    read -r sent failed <"$WORK/reloader.out" || true
    record s6 tycho-reloading reloads "$i" $((g1 - g0))
    record s6 tycho-reloading reload_failures "$i" "${failed:-0}"
    log "  run $i: ${sent:-?} reloads requested, generation +$((g1 - g0)), ${failed:-?} not answered 200"
    run_wrk s6 tycho-steady "$i" "$u"
  done
  curl -s -m 2 "$admin/-/status" >"$RAW/s6-status.json" || true
  stop_all
}
generation() { # admin url -> the route generation /-/status reports
  curl -s -m 2 "$1/-/status" | "$PY" -c 'import json, sys; print(json.load(sys.stdin).get("generation", 0))' 2>/dev/null || echo 0
}

# 7. Memory: RSS with 10k idle keep-alive connections (tycho and OpenResty),
#    then tycho's RSS over a soak at a fixed rate with telemetry on.
scenario_7() {
  log "7: RSS with $IDLE_CONNS idle keep-alive connections, then a ${SOAK}s soak at $SOAK_RATE req/s"
  local s
  for s in tycho openresty; do
    if [ "$s" = tycho ]; then
      start_tycho s7-idle -- --max-connections $((IDLE_CONNS + 100))
    else
      WORKER_CONNECTIONS=$((IDLE_CONNS + 100)) NGINX_MAIN="worker_rlimit_nofile $((IDLE_CONNS + 1000));" start_openresty s7-idle
    fi
    local pid=$SRV_PID u=$SRV_URL done_file="$WORK/idle-$s.done"
    timeout 20 taskset -c "$CLIENT_CPU" wrk -t1 -c"$CONNECTIONS" -d1s "$u" >/dev/null 2>&1 || true
    sleep 0.5
    local before after line
    before=$(rss_tree_kb "$pid")
    timeout 300 taskset -c "$CLIENT_CPU" "$PY" "$BENCH/lib/drivers.py" idle-conns "$u" "$IDLE_CONNS" "$done_file" >"$WORK/idle-$s.out" 2>&1 &
    local cpid=$!
    for _ in $(seq 600); do
      grep -q READY "$WORK/idle-$s.out" && break
      sleep 0.1
    done
    line=$(grep READY "$WORK/idle-$s.out" || echo "READY 0 0")
    sleep 1
    after=$(rss_tree_kb "$pid")
    touch "$done_file"
    wait "$cpid" || true
    record s7 "$s" rss_idle_mb 1 "$(echo "$before" | awk '{printf "%.2f", $1/1024}')"
    record s7 "$s" rss_10k_mb 1 "$(echo "$after" | awk '{printf "%.2f", $1/1024}')"
    record s7 "$s" conns_open 1 "$(echo "$line" | awk '{print $2}')"
    record s7 "$s" conns_answered 1 "$(echo "$line" | awk '{print $3}')"
    log "  $s: RSS $((before / 1024)) MB idle -> $((after / 1024)) MB with $line (open, answered)"
    stop_all
  done
  note s7 "RSS is the sum over the process tree (nginx: master + worker); the connections each carried one answered GET /json and then stayed open"

  # Soak: tycho with telemetry on (access log to /dev/null, every request
  # traced), open-loop at SOAK_RATE; RSS sampled once a second.
  TYCHO_LOG_FILE=/dev/null start_tycho s7-soak TYCHO_ACCESS_LOG=on OTEL_TRACES_SAMPLER=always_on
  local pid=$SRV_PID u=$SRV_URL
  timeout 20 taskset -c "$CLIENT_CPU" wrk -t1 -c"$CONNECTIONS" -d"$WARMUP"s "$u" >/dev/null 2>&1 || true
  : >"$RESULTS_DATA/soak_rss.dat"
  (
    t=0
    while kill -0 "$pid" 2>/dev/null; do
      echo "$t $(rss_tree_kb "$pid")" >>"$WORK/soak.rss"
      sleep 1
      t=$((t + 1))
    done
  ) &
  local mpid=$!
  BENCH_PIDS+=("$mpid")
  run_rate s7 tycho-soak 1 "$u" "$SOAK_RATE" "$SOAK"
  # The server's own view of the same requests (handler start -> answer
  # queued), to tell a slow server from a late client in the latency tail.
  curl -s -m 5 "$SRV_ADMIN/metrics" >"$RAW/s7-soak.metrics" || true
  "$PY" - "$RAW/s7-soak.metrics" <<'PY' | while read -r over5 over100; do
import re, sys
c = {}
for line in open(sys.argv[1]):
    m = re.match(r'tycho_http_request_duration_seconds_bucket\{.*route="/json".*le="([^"]+)"\} (\S+)', line)
    if m:
        c[m.group(1)] = float(m.group(2))
if c.get("+Inf"):
    print("%.6f %.6f" % (1 - c["0.005"] / c["+Inf"], 1 - c["0.1"] / c["+Inf"]))
PY
    record s7 tycho-soak server_share_over_5ms 1 "$over5"
    record s7 tycho-soak server_share_over_100ms 1 "$over100"
  done
  stop_all
  awk '{printf "%d %.3f\n", $1, $2/1024}' "$WORK/soak.rss" >"$RESULTS_DATA/soak_rss.dat"
  # Drift: the last 10 % of the samples against the 10 % after the first tenth.
  "$PY" - "$RESULTS_DATA/soak_rss.dat" "$TSV" <<'EOF'
import sys
rows = [tuple(map(float, l.split())) for l in open(sys.argv[1]) if l.strip()]
rss = [r[1] for r in rows]
n = len(rss)
if n >= 10:
    k = max(1, n // 10)
    early = sorted(rss[k:2 * k])[len(rss[k:2 * k]) // 2]
    late = sorted(rss[-k:])[k // 2]
    with open(sys.argv[2], "a") as f:
        for m, v in (("soak_rss_early_mb", early), ("soak_rss_late_mb", late), ("soak_rss_max_mb", max(rss)),
                     ("soak_drift_pct", (late - early) / early * 100), ("soak_samples", n)):
            f.write("s7\ttycho-soak\t%s\t1\t%.3f\n" % (m, v))
EOF
}

# 8. Start-up to ready (exec -> first 200 on the admin /-/ready; nginx: first
#    200 on /json, as a reference), and the size of the binary and its
#    runtime dependencies.
scenario_8() {
  log "8: start-up x $STARTUP_RUNS, binary and dependency sizes"
  local i
  for i in $(seq "$STARTUP_RUNS"); do
    local port admin cmd ms
    port=$(free_port)
    admin=$(free_port)
    cmd=$(printf '["env","TYCHO_ACCESS_LOG=off","TYCHO_RELOAD=off","TYCHO_DATA_DIR=%s","taskset","-c","%s","%s","serve","--workers","1","--routes","%s","--listen","127.0.0.1:%s","--admin-listen","127.0.0.1:%s"]' \
      "$WORK/startup-data" "$SERVER_CPU" "$TYCHO_BIN" "$BENCH/routes" "$port" "$admin")
    ms=$(timeout 30 "$PY" "$BENCH/lib/drivers.py" startup "$cmd" "http://127.0.0.1:$admin/-/ready") &&
      record s8 tycho startup_ms "$i" "$ms"
    # OpenResty (reference): exec -> first 200 on /json.
    port=$(free_port)
    local prefix="$WORK/nginx-startup"
    mkdir -p "$prefix/tmp"
    sed -e "s|__PORT__|$port|" -e "s|__PREFIX__|$prefix|g" "$BENCH/openresty/nginx.conf" >"$prefix/nginx.conf"
    cmd=$(printf '["taskset","-c","%s","nginx","-c","%s","-p","%s"]' "$SERVER_CPU" "$prefix/nginx.conf" "$prefix")
    ms=$(timeout 30 "$PY" "$BENCH/lib/drivers.py" startup "$cmd" "http://127.0.0.1:$port/json") &&
      record s8 openresty startup_ms "$i" "$ms"
  done
  # Sizes: the binary as built and stripped, and every shared library ldd
  # resolves (followed through symlinks), summed.
  local stripped="$WORK/tycho.stripped"
  strip -o "$stripped" "$TYCHO_BIN"
  record s8 tycho binary_kb 1 "$(($(stat -c %s "$TYCHO_BIN") / 1024))"
  record s8 tycho binary_stripped_kb 1 "$(($(stat -c %s "$stripped") / 1024))"
  ldd "$TYCHO_BIN" | awk '$3 ~ /^\// {print $3} $1 ~ /^\// {print $1}' | sort -u >"$RAW/s8-ldd.txt"
  local libs_kb n
  libs_kb=$(xargs -a "$RAW/s8-ldd.txt" du -kLc | awk 'END {print $1}')
  n=$(wc -l <"$RAW/s8-ldd.txt")
  record s8 tycho deps_kb 1 "$libs_kb"
  record s8 tycho deps_count 1 "$n"
  local luadir
  luadir=$(grep -oE 'TYCHO_SOURCE_LUA_DIR=\\"[^\\]*' "$(dirname "$TYCHO_BIN")/CMakeFiles/tycho_core.dir/flags.make" 2>/dev/null | head -1 | cut -d'"' -f2 || true)
  [ -d "${luadir:-/nonexistent}" ] || luadir=$ROOT/lua
  if [ -d "$luadir" ]; then record s8 tycho lua_dir_kb 1 "$(du -skL "$luadir" | cut -f1)"; fi
  note s8 "tycho's shared libraries ($n, from ldd): $(xargs -a "$RAW/s8-ldd.txt" -n1 basename | tr '\n' ' ')"
}
