#!/usr/bin/env bash
# The user's documentation keeps up with the product (check_doc_coverage.py):
# every environment variable the code reads is documented, README.md's
# endpoint table names every route `tycho check routes` lists and nothing
# else, its admin table the paths the admin listener serves, and its server
# table the flags, variables and defaults of `tycho serve --help`, and its
# Commands table the options each command's --help shows. Then the
# checker is shown to catch each kind of drift, on a copy of the files it
# reads with one gap made in each.
set -euo pipefail
SRC=${TYCHO_SRC:-$(cd "$(dirname "$0")/../.." && pwd)}
BIN=${TYCHO_BIN:-$SRC/build/tycho}
check="/usr/bin/python3 $SRC/tests/lint/check_doc_coverage.py"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fail() { echo "not ok - $*"; exit 1; }

echo "--- the repository"
(cd "$SRC" && TYCHO_DATA_DIR="$work/data" "$BIN" check routes) >"$work/check.txt" ||
    fail "tycho check routes failed: $(cat "$work/check.txt")"
$check env "$SRC" || fail "environment variables missing from the documentation"
$check routes "$SRC" "$work/check.txt" || fail "README.md's endpoint table and the routes disagree"
$check admin "$SRC" || fail "README.md's admin table and server/core/admin_request.c disagree"
"$BIN" serve --help >"$work/help.txt"
$check flags "$SRC" "$work/help.txt" || fail "README.md's server table and tycho serve --help disagree"
mkdir "$work/usage"
for cmd in check spec health version; do "$BIN" "$cmd" --help >"$work/usage/$cmd.txt" || true; done
$check commands "$SRC" "$work/usage" || fail "README.md's Commands table lacks options the commands' --help shows"

echo "--- the checker catches drift (a copy with one gap of each kind)"
copy="$work/copy"
mkdir -p "$copy/server/core"
cp -r "$SRC/README.md" "$SRC/docs" "$SRC/lua" "$SRC/routes" "$copy/"
mkdir -p "$copy/exporters" && cp "$SRC/exporters/README.md" "$copy/exporters/"
for d in "$SRC"/server/*/; do
    mkdir -p "$copy/server/$(basename "$d")"
    cp "$d"*.md "$copy/server/$(basename "$d")/" 2>/dev/null || true
done
cp "$SRC/server/core/env_names.c" "$SRC/server/core/admin_request.c" "$copy/server/core/"

expect_gap() { # what want-in-output args...
    local what=$1 want=$2 out
    shift 2
    if out=$($check "$@" 2>&1); then
        fail "$what: the checker passed"$'\n'"$out"
    fi
    grep -qF -- "$want" <<<"$out" || fail "$what: the checker did not say: $want"$'\n'"$out"
    echo "ok - $what"
}

# an app variable read by routes/ whose README row is gone
grep -q 'SAMPLE_LOG_INTERVAL' "$copy/routes/_app/config.lua" || fail "config.lua no longer reads SAMPLE_LOG_INTERVAL"
grep -rl SAMPLE_LOG_INTERVAL "$copy/README.md" "$copy/docs" | xargs sed -i 's/SAMPLE_LOG_INTERVAL/SAMPLE_LOG_EVERY/g'
expect_gap "an undocumented app variable" "SAMPLE_LOG_INTERVAL (read in routes/_app/config.lua)" env "$copy"
# a TYCHO_* setting added to the code's list but to no document
sed -i 's/^\(\s*\)"TYCHO_WORKERS",/&\n\1"TYCHO_NEW_KNOB",/' "$copy/server/core/env_names.c"
expect_gap "an undocumented TYCHO_ variable" "TYCHO_NEW_KNOB (read in server/core/env_names.c)" env "$copy"

# a route the README does not list, and a README row with no route
{ cat "$work/check.txt"; echo "  DELETE  /get-data/:id   routes/data.lua:99"; } >"$work/check-extra.txt"
expect_gap "an undocumented route" "DELETE /get-data/:id is served" routes "$SRC" "$work/check-extra.txt"
grep -vE '^\s*GET\s+/openapi.json\s' "$work/check.txt" >"$work/check-less.txt"
expect_gap "a documented route that is gone" "lists GET /openapi.json but tycho check routes does not serve it" \
    routes "$SRC" "$work/check-less.txt"

# an admin path the README's table does not list
sed -i 's|{"/-/healthy", TYCHO_ADMIN_HEALTHY}|{"/-/debug", TYCHO_ADMIN_STATUS}, &|' "$copy/server/core/admin_request.c"
grep -q '/-/debug' "$copy/server/core/admin_request.c" || fail "could not add an admin path to the copy of admin_request.c"
expect_gap "an undocumented admin path" "serves /-/debug (server/core/admin_request.c)" admin "$copy"
# a flag --help has and the README does not; a default that drifted
sed -e '/--send-timeout/d' -e 's/\[8192\]/[4096]/' "$work/help.txt" >"$work/help-drift.txt"
expect_gap "a flag the README has and --help not" "README.md's server table lists --send-timeout but tycho serve --help does not" \
    flags "$SRC" "$work/help-drift.txt"
expect_gap "a default that drifted" "--max-uri-bytes: default \`8192\` in README.md, [4096] in tycho serve --help" \
    flags "$SRC" "$work/help-drift.txt"
# an option a command's --help shows and README's Commands row does not
mkdir "$work/usage-drift"
sed '1s/$/ [--retries N]/' "$work/usage/health.txt" >"$work/usage-drift/health.txt"
expect_gap "a command option the README lacks" "tycho health --help shows --retries but README.md's Commands row does not" \
    commands "$SRC" "$work/usage-drift"
echo "all documentation checks pass"
