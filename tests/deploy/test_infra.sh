#!/usr/bin/env bash
# infra/: `cdk synth` through the CLI exactly as a deploy runs it (cdk.json's
# app command type-checks with tsc --noEmit first; cdk-nag runs as a synth
# plugin and fails synth on any unacknowledged finding), then the node:test
# suites (assertions + cdk-nag validateScope). No credentials, no network.
set -euo pipefail
# shellcheck source=tests/deploy/env.sh
source "$(dirname "$0")/env.sh"
ensure_infra_deps
cd "$TYCHO_SRC/infra"

echo "--- cdk synth (tsc --noEmit, cdk-nag plugin)"
npx --no-install cdk synth --quiet -c imageTag=synth-check -o "$deploy_tmp/cdk.out" 2>&1 | tee "$deploy_tmp/synth.log"
for stack in TychoNetwork TychoRegistry TychoData TychoObservability TychoApp; do
  [ -s "$deploy_tmp/cdk.out/$stack.template.json" ] || fail "synth produced no template for $stack"
done
if grep -q '"conclusion": *"failure"' "$deploy_tmp/cdk.out/validation-report.json" 2>/dev/null; then
  fail "policy validation (cdk-nag) reported failures: $deploy_tmp/cdk.out/validation-report.json"
fi

echo "--- node --test (assertions, cdk-nag validateScope)"
npm run --silent test:unit
