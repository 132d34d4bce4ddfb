#!/usr/bin/env bash
# scripts/image-tag, the ECR tags deploy.yml gives the images, on a scratch
# git repository holding a copy of grafana/ (docker replaced by a stub that
# reports a base-image id the test chooses):
#  - a README (or alert-rule) change keeps the Grafana tag, a dashboard, a
#    provisioning or a Dockerfile change gives a new one; grafana/ changes
#    leave the Loki tag alone;
#  - every FROM image is pulled, and a republished base image (new id) gives
#    a new tag, the same one the same tag; --commit names the commit;
#  - COPY forms whose sources it cannot follow are refused.
set -euo pipefail
# shellcheck source=tests/deploy/env.sh
source "$(dirname "$0")/env.sh"
tag_script="$TYCHO_SRC/scripts/image-tag"

repo="$deploy_tmp/repo"
mkdir -p "$repo" "$deploy_tmp/bin"
git -C "$TYCHO_SRC" archive HEAD grafana | tar -x -C "$repo"
cp "$TYCHO_SRC/grafana/Dockerfile" "$repo/grafana/Dockerfile" # the working tree's, under test
cat >"$deploy_tmp/bin/docker" <<'STUB'
#!/bin/sh
# docker pull --quiet IMAGE | docker image inspect --format {{.Id}} IMAGE
echo "$*" >>"$DOCKER_LOG"
case "$1" in
  pull) echo "$3" ;;
  image) printf 'sha256:%s\n' "$(printf '%s %s' "$5" "$BASE_RELEASE" | sha256sum | cut -c1-64)" ;;
  *) exit 1 ;;
esac
STUB
chmod +x "$deploy_tmp/bin/docker"
export PATH="$deploy_tmp/bin:$PATH" DOCKER_LOG="$deploy_tmp/docker.log" BASE_RELEASE=1
export GIT_AUTHOR_NAME=t GIT_AUTHOR_EMAIL=t@t GIT_COMMITTER_NAME=t GIT_COMMITTER_EMAIL=t@t
cd "$repo"
git init -q . && git add -A && git commit -qm base

commit() { git add -A && git commit -qm "$1"; }
tag() { "$tag_script" "$@"; }
grafana=$(tag grafana) loki=$(tag grafana/loki)
echo "grafana $grafana, loki $loki"
[[ $grafana =~ ^src-[0-9a-f]{20}-base-[0-9a-f]{20}$ ]] || fail "unexpected tag format: $grafana"

echo "--- a README or an alert rule changes no image"
echo "more prose" >>grafana/README.md
echo "# a comment" >>grafana/alerts/tycho.rules.yml
commit docs
[ "$(tag grafana)" = "$grafana" ] || fail "a README/alert-rule change changed the Grafana tag"
[ "$(tag grafana/loki)" = "$loki" ] || fail "a grafana/ README change changed the Loki tag"

echo "--- a dashboard, provisioning or Dockerfile change does"
prev=$grafana
for f in grafana/dashboards/tycho-service.json grafana/provisioning/datasources/datasources.yaml grafana/Dockerfile; do
  echo "# changed" >>"$f"
  commit "$f"
  now=$(tag grafana)
  [ "$now" != "$prev" ] || fail "a change of $f kept the Grafana tag $now"
  [ "$(tag grafana/loki)" = "$loki" ] || fail "a change of $f changed the Loki tag"
  prev=$now
done
echo "# changed" >>grafana/loki/loki.yaml
commit loki
[ "$(tag grafana/loki)" != "$loki" ] || fail "a loki.yaml change kept the Loki tag"
[ "$(tag grafana)" = "$prev" ] || fail "a loki.yaml change changed the Grafana tag (grafana/Dockerfile does not copy loki/)"

echo "--- base images: pulled fresh, a republished one gives a new tag"
: >"$DOCKER_LOG"
a=$(tag grafana)
grep -qx 'pull --quiet grafana/grafana:12.2.0' "$DOCKER_LOG" || fail "the base image (ARG default put in) was not pulled:"$'\n'"$(cat "$DOCKER_LOG")"
[ "$(tag grafana)" = "$a" ] || fail "the same base image gave another tag"
BASE_RELEASE=2 b=$(tag grafana)
if [ "$b" = "$a" ] || [ "${b%-base-*}" != "${a%-base-*}" ]; then fail "a republished base image: $a -> $b"; fi
[ "$(tag --no-base grafana)" = "${a%-base-*}" ] || fail "--no-base is not the sources part"
c=$(tag --commit grafana)
[ "${c%-base-*}" = "$(git rev-parse HEAD)" ] || fail "--commit does not name the commit: $c"

echo "--- COPY forms it cannot follow are refused"
for line in 'COPY ["dashboards/", "/x/"]' 'COPY dashboards/*.json /x/' "COPY dashboards/ \\"; do
  git checkout -q -- grafana/Dockerfile
  echo "$line" >>grafana/Dockerfile
  if out=$(tag --no-base grafana 2>&1); then fail "accepted: $line ($out)"; fi
  grep -q "not supported" <<<"$out" || fail "no reason given for: $line"$'\n'"$out"
done
echo "image-tag ok"
