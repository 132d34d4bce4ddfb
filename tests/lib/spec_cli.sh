# shellcheck shell=bash
# spec_cli.sh — what the tests driving `tycho spec` from the shell share
# (tests/lua/test_spec_*.sh). Source it first:
#   . "$(dirname "$0")/../lib/spec_cli.sh"
# It sets BIN (the tycho binary, an absolute path: $TYCHO_BIN or build/tycho),
# fails=0, tmp (a fresh folder, made the working directory and removed at
# exit, whose data/ is TYCHO_DATA_DIR) and SPEC (the command: tycho spec with
# routes from $tmp/none, a folder that does not exist). A test that must do
# more at exit sets its own EXIT trap and calls remove_tmp from it.

BIN=$(realpath "${TYCHO_BIN:-$(dirname "$0")/../../build/tycho}")
fails=0
# ok WHAT / bad WHAT: one check passed / failed (counted in fails)
ok() { echo "ok   $*"; }
bad() {
  echo "FAIL $*"
  fails=$((fails + 1))
}
tmp=$(mktemp -d)
remove_tmp() { rm -rf "$tmp"; }
trap remove_tmp EXIT
cd "$tmp" || exit 1
export TYCHO_DATA_DIR="$tmp/data"
SPEC=("$BIN" spec --routes "$tmp/none")

# spec <args...>: runs tycho spec (at most 60 s), stdout -> out, stderr ->
# err, exit status -> rc, seconds -> took
# shellcheck disable=SC2034 # rc and took are the sourcing test's to read
spec() {
  local t0=$SECONDS
  timeout 60 "${SPEC[@]}" "$@" >out 2>err
  rc=$?
  took=$((SECONDS - t0))
}

# summary: the test's own last line, as ctest reads it; exits 1 on a failure
summary() {
  if [ "$fails" -eq 0 ]; then
    echo "1 passed, 0 failed"
  else
    echo "0 passed, 1 failed"
    exit 1
  fi
}
