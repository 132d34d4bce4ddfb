#!/usr/bin/env bash
# Root Dockerfile, checked statically (no Docker engine here): stages, user,
# health check through the tycho binary, read-only-root readiness, and every
# COPY source present and not excluded by .dockerignore, and every program the
# unit tests exec installed by the build stage (apt-get simulation against the
# local apt lists). Then a mutated copy must be rejected.
set -euo pipefail
# shellcheck source=tests/deploy/env.sh
source "$(dirname "$0")/env.sh"

"$PY" "$TYCHO_SRC/tests/deploy/check_dockerfile.py" "$TYCHO_SRC"

echo "--- the checker rejects a broken Dockerfile"
bad="$deploy_tmp/repo"
mkdir -p "$bad"
for entry in "$TYCHO_SRC"/* "$TYCHO_SRC"/.dockerignore; do
  [ "$(basename "$entry")" = Dockerfile ] || ln -s "$entry" "$bad/$(basename "$entry")"
done
sed -e 's|^USER 10001:10001|USER root|' \
    -e 's|CMD \["/usr/local/bin/tycho", "health"|CMD ["curl", "-f"|' \
    -e 's|^COPY routes/ /app/routes/|COPY no-such-dir/ /app/routes/|' \
    -e 's|^COPY exporters/ exporters/|COPY bench/ bench/|' \
    -e 's|\(apt-get install .*libcmocka-dev\) python3 |\1 |' \
    "$TYCHO_SRC/Dockerfile" > "$bad/Dockerfile"
if out=$("$PY" "$TYCHO_SRC/tests/deploy/check_dockerfile.py" "$bad"); then
  fail "check_dockerfile.py accepted a broken Dockerfile"
fi
for want in "non-root USER" "HEALTHCHECK" "no-such-dir/ does not exist" "bench/ is excluded by .dockerignore" \
  "build stage does not install python3-minimal: a unit test execs /usr/bin/python3"; do
  grep -q "$want" <<<"$out" || fail "check_dockerfile.py did not report: $want"$'\n'"$out"
done
echo "broken Dockerfile rejected as expected"
