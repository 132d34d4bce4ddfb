# shellcheck shell=bash
# Helpers shared by bench/run's scenarios (sourced, not executed).
#
# Conventions (the same as bench/http_engine.sh): every server runs pinned to
# $SERVER_CPU with one worker, every load generator pinned to $CLIENT_CPU,
# loopback only, every process and every wait bounded by a timeout. Results are
# appended as tab-separated rows to $TSV:
#   scenario  subject  metric  run  value
# and bench/lib/report.py turns them into results.md and the plot data.

PY=/usr/bin/python3 # Debian's Python: the one with fastapi/uvicorn (PEERS.md)

log() { printf '[bench %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() {
  log "error: $*"
  exit 1
}

record() { # scenario subject metric run value
  printf '%s\t%s\t%s\t%s\t%s\n' "$1" "$2" "$3" "$4" "$5" >>"$TSV"
}
note() { # scenario text: a line shown under the scenario in results.md
  printf '%s\t-\tnote\t-\t%s\n' "$1" "$2" >>"$TSV"
}

need_cmds() { # cmd... : every one on PATH, or die naming the first missing
  local c
  for c in "$@"; do
    command -v "$c" >/dev/null || die "missing $c (scripts/setup installs the bench's tools)"
  done
}

need_release_bin() { # path: an executable tycho from a Release build, or die saying how to get one
  local how="TYCHO_BUILD_DIR=build-bench TYCHO_BUILD_TYPE=Release scripts/build"
  [ -x "$1" ] || die "no tycho binary at $1 ($how)"
  grep -q '^CMAKE_BUILD_TYPE:STRING=Release$' "$(dirname "$1")/CMakeCache.txt" 2>/dev/null ||
    die "$1 is not a Release build ($how)"
}

bench_workdir() { # name: WORK (a temp dir, stop_all and removed on exit), RAW=$RESULTS/raw/name, TSV
  WORK=$(mktemp -d)
  RAW=$RESULTS/raw/$1
  TSV=$WORK/rows.tsv
  trap 'stop_all; rm -rf "$WORK"' EXIT
  mkdir -p "$RAW"
}

free_port() {
  "$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

wait_http() { # url [seconds]: until it answers 2xx
  local deadline=$((SECONDS + ${2:-20}))
  while ((SECONDS < deadline)); do
    curl -fs -m 1 -o /dev/null "$1" && return 0
    sleep 0.05
  done
  return 1
}

# Every background process a scenario starts goes through spawn, so cleanup
# (on exit, or stop_all between scenarios) ends exactly those, by pid.
BENCH_PIDS=()
spawn() { # log_file cmd... ; sets SPAWNED to the pid
  local logf=$1
  shift
  "$@" >"$logf" 2>&1 &
  SPAWNED=$!
  BENCH_PIDS+=("$SPAWNED")
}

stop_pid() { # pid [signal]: signal, wait up to 10 s, then KILL
  local pid=$1 sig=${2:-TERM}
  kill -0 "$pid" 2>/dev/null || return 0
  kill -"$sig" "$pid" 2>/dev/null || true
  for _ in $(seq 100); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  kill -KILL "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
}

stop_all() { # last started, first stopped
  local i
  for ((i = ${#BENCH_PIDS[@]} - 1; i >= 0; i--)); do stop_pid "${BENCH_PIDS[i]}"; done
  BENCH_PIDS=()
}

# RSS in kB of a process and all its descendants (nginx master + worker).
rss_tree_kb() {
  "$PY" - "$1" <<'EOF'
import os, sys
root = int(sys.argv[1])
kids = {}
for d in os.listdir("/proc"):
    if d.isdigit():
        try:
            with open("/proc/%s/stat" % d) as f:
                ppid = int(f.read().rsplit(")", 1)[1].split()[1])
            kids.setdefault(ppid, []).append(int(d))
        except (OSError, ValueError, IndexError):
            pass
total, todo = 0, [root]
while todo:
    p = todo.pop()
    todo.extend(kids.get(p, []))
    try:
        with open("/proc/%d/status" % p) as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
    except OSError:
        pass
print(total)
EOF
}

# wrk at fixed concurrency, one thread, pinned; records req/s, p50, p99 (ms)
# and errors (socket errors + non-2xx) for scenario/subject/run.
run_wrk() { # scenario subject run url [extra wrk args...]
  local sc=$1 subj=$2 run=$3 url=$4
  shift 4
  local out="$RAW/$sc-$subj-$run.wrk"
  timeout $((DURATION + 30)) taskset -c "$CLIENT_CPU" wrk -t1 -c"$CONNECTIONS" -d"${DURATION}s" \
    --timeout 5s --latency "$@" "$url" >"$out" 2>&1 || true
  local vals
  vals=$("$PY" "$BENCH/lib/wrkparse.py" "$out") || {
    log "wrk failed for $subj: $(tail -3 "$out" | tr '\n' ' ')"
    return 0
  }
  # shellcheck disable=SC2086
  set -- $vals
  record "$sc" "$subj" rps "$run" "$1"
  record "$sc" "$subj" p50_ms "$run" "$2"
  record "$sc" "$subj" p99_ms "$run" "$3"
  record "$sc" "$subj" errors "$run" "$4"
  printf '  %-22s run %d: %9.0f req/s  p50 %7.3f ms  p99 %7.3f ms  errors %s\n' "$subj" "$run" "$1" "$2" "$3" "$4" >&2
}

# Open-loop load at a fixed rate (bench/lib/openloop.py): latency measured
# from each request's scheduled send time, so a stall is not hidden.
run_rate() { # scenario subject run url rate seconds
  local sc=$1 subj=$2 run=$3 url=$4 rate=$5 secs=$6
  local out="$RAW/$sc-$subj-$run.rate"
  timeout $((secs + 40)) taskset -c "$CLIENT_CPU" "$PY" "$BENCH/lib/openloop.py" \
    --url "$url" --rate "$rate" --duration "$secs" --connections "$RATE_CONNECTIONS" >"$out" 2>&1 || true
  local vals
  vals=$(awk '/^RESULT/ {print $2, $3, $4, $5, $6, $7}' "$out")
  [ -n "$vals" ] || {
    log "open-loop client failed for $subj: $(tail -3 "$out" | tr '\n' ' ')"
    return 0
  }
  # shellcheck disable=SC2086
  set -- $vals
  record "$sc" "$subj" rate_p50_ms "$run" "$1"
  record "$sc" "$subj" rate_p99_ms "$run" "$2"
  record "$sc" "$subj" rate_p999_ms "$run" "$3"
  record "$sc" "$subj" rate_errors "$run" "$4"
  record "$sc" "$subj" rate_achieved "$run" "$5"
  record "$sc" "$subj" rate_client_lag_max_ms "$run" "${6:-0}"
  printf '  %-22s run %d: %s req/s offered, p50 %7.3f ms  p99 %7.3f ms  p99.9 %7.3f ms  errors %s\n' \
    "$subj" "$run" "$rate" "$1" "$2" "$3" "$4" >&2
}
