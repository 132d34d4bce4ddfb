# shellcheck shell=bash disable=SC2034 # SRV_* are read by the scenarios
# Starting the servers under test (sourced by bench/run after common.sh).
# Each start_* runs one server pinned to $SERVER_CPU with one worker on
# loopback, waits (bounded) until it answers (tycho: the admin /-/ready;
# the others: GET /json), and sets:
#   SRV_PID   the pid to stop (stop_pid)
#   SRV_URL   http://127.0.0.1:<port>/json
# start_tycho also sets SRV_ADMIN (http://127.0.0.1:<admin port>).
# Optional: TYCHO_WRAPPER / NGINX_WRAPPER (a command to run the server under,
# e.g. valgrind), TYCHO_LOG_FILE (where tycho's stdout/stderr go),
# TYCHO_ROUTES_DIR, TYCHO_START_TIMEOUT, NGINX_START_TIMEOUT.

# tycho with the bench routes. Environment for the server can be passed as
# NAME=value words before the flags, e.g.
#   start_tycho tag TYCHO_ACCESS_LOG=off OTEL_TRACES_SAMPLER=always_off -- --no-reload
start_tycho() { # tag [VAR=value ...] [-- extra serve flags]
  local tag=$1
  shift
  local envs=() flags=()
  while [ $# -gt 0 ]; do
    if [ "$1" = -- ]; then
      shift
      flags=("$@")
      break
    fi
    envs+=("$1")
    shift
  done
  local port admin
  port=$(free_port)
  admin=$(free_port)
  mkdir -p "$WORK/tycho-$tag"
  # Defaults: no access log, no reload, sampler off; the caller's words win.
  # shellcheck disable=SC2086 # TYCHO_WRAPPER is a command line (valgrind ...)
  spawn "${TYCHO_LOG_FILE:-$WORK/tycho-$tag.log}" env TYCHO_ACCESS_LOG=off TYCHO_RELOAD=off OTEL_TRACES_SAMPLER=always_off \
    TYCHO_DATA_DIR="$WORK/tycho-$tag/data" "${envs[@]}" \
    taskset -c "$SERVER_CPU" ${TYCHO_WRAPPER:-} "$TYCHO_BIN" serve --workers 1 --routes "${TYCHO_ROUTES_DIR:-$BENCH/routes}" \
    --listen "127.0.0.1:$port" --admin-listen "127.0.0.1:$admin" "${flags[@]}"
  SRV_PID=$SPAWNED
  SRV_URL="http://127.0.0.1:$port/json"
  SRV_ADMIN="http://127.0.0.1:$admin"
  wait_http "$SRV_ADMIN/-/ready" "${TYCHO_START_TIMEOUT:-20}" || {
    tail -5 "${TYCHO_LOG_FILE:-$WORK/tycho-$tag.log}" >&2
    die "tycho ($tag) did not come up"
  }
}

# OpenResty's engine: Debian nginx + libnginx-mod-http-lua with the HTTP
# engine benchmark's config (bench/openresty/nginx.conf), one worker.
# Extra nginx directives for the main context can be passed in NGINX_MAIN
# (e.g. "master_process off;"), WORKER_CONNECTIONS overrides the events block.
start_openresty() { # tag
  local tag=$1 port prefix
  port=$(free_port)
  prefix="$WORK/nginx-$tag"
  mkdir -p "$prefix/tmp"
  sed -e "s|__PORT__|$port|" -e "s|__PREFIX__|$prefix|g" \
    -e "s|worker_connections [0-9]*;|worker_connections ${WORKER_CONNECTIONS:-4096};|" \
    "$BENCH/openresty/nginx.conf" >"$prefix/nginx.conf"
  if [ -n "${NGINX_MAIN:-}" ]; then
    printf '%s\n' "$NGINX_MAIN" >>"$prefix/nginx.conf"
  fi
  # shellcheck disable=SC2086 # NGINX_WRAPPER is a command line (valgrind ...)
  spawn "$WORK/nginx-$tag.log" taskset -c "$SERVER_CPU" ${NGINX_WRAPPER:-} nginx -c "$prefix/nginx.conf" -p "$prefix"
  SRV_PID=$SPAWNED
  SRV_URL="http://127.0.0.1:$port/json"
  wait_http "$SRV_URL" "${NGINX_START_TIMEOUT:-20}" || {
    tail -5 "$WORK/nginx-$tag.log" "$prefix/error.log" >&2
    die "nginx ($tag) did not come up"
  }
}

# FastAPI on uvicorn (Debian packages), one worker; stack = uvloop | h11.
start_fastapi() { # tag stack
  local tag=$1 port loopargs
  port=$(free_port)
  case $2 in
    uvloop) loopargs=(--loop uvloop --http httptools) ;;
    h11) loopargs=(--loop asyncio --http h11) ;;
    *) die "unknown uvicorn stack $2" ;;
  esac
  spawn "$WORK/uvicorn-$tag.log" env --chdir="$BENCH/fastapi" taskset -c "$SERVER_CPU" "$PY" -m uvicorn app:app \
    --host 127.0.0.1 --port "$port" --workers 1 --log-level warning --no-access-log "${loopargs[@]}"
  SRV_PID=$SPAWNED
  SRV_URL="http://127.0.0.1:$port/json"
  wait_http "$SRV_URL" 30 || {
    tail -5 "$WORK/uvicorn-$tag.log" >&2
    die "uvicorn ($tag) did not come up"
  }
}
