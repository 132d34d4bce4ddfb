# Sourced by tests/abuse/test_*.sh. abuse_run <script.py> runs one abuse test
# with /usr/bin/python3 and a trap that, however the test ends, kills the
# servers it started (pids in $ABUSE_PIDFILE) and removes its temporary data
# directory. The tests only use loopback and bound their own running time.
abuse_cleanup() {
  if [ -f "$1/pids" ]; then
    while read -r pid; do kill -9 "$pid" 2>/dev/null || true; done <"$1/pids"
  fi
  rm -rf "$1"
}

abuse_run() {
  local dir
  dir=$(mktemp -d "${TMPDIR:-/tmp}/tycho-abuse.XXXXXX")
  # shellcheck disable=SC2064 # expand $dir now
  trap "abuse_cleanup '$dir'" EXIT
  trap 'exit 130' INT TERM
  export ABUSE_PIDFILE=$dir/pids ABUSE_DATA_DIR=$dir/data
  /usr/bin/python3 "$(dirname "${BASH_SOURCE[0]}")/$1"
}
