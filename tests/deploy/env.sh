# shellcheck shell=bash
# Sourced by tests/deploy/test_*.sh: repository paths, AWS isolation, and the
# infra npm dependencies (which also bring the workflow linter).
#
# AWS isolation: CDK synth must never need credentials or the network. The
# shared credentials/config files point nowhere, no AWS_* key leaks in, and the
# CDK CLI's version check, notices and telemetry are off (cdk.json also turns
# notices and telemetry off).

TYCHO_SRC=${TYCHO_SRC:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
export TYCHO_SRC
export PY=/usr/bin/python3 # Debian's Python (python3-yaml); `python3` on PATH may be another one

deploy_tmp=$(mktemp -d "${TMPDIR:-/tmp}/tycho-deploy.XXXXXX")
trap 'rm -rf "$deploy_tmp"' EXIT

unset AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY AWS_SESSION_TOKEN AWS_PROFILE AWS_DEFAULT_PROFILE \
  AWS_WEB_IDENTITY_TOKEN_FILE AWS_ROLE_ARN AWS_CONTAINER_CREDENTIALS_RELATIVE_URI AWS_CONTAINER_CREDENTIALS_FULL_URI
export AWS_SHARED_CREDENTIALS_FILE="$deploy_tmp/nonexistent-credentials"
export AWS_CONFIG_FILE="$deploy_tmp/nonexistent-config"
export AWS_EC2_METADATA_DISABLED=true
export CDK_DISABLE_VERSION_CHECK=1
export CDK_DISABLE_CLI_TELEMETRY=true
export CDK_HOME="$deploy_tmp/cdk-home"
export npm_config_update_notifier=false npm_config_fund=false npm_config_audit=false

fail() { echo "FAIL: $*" >&2; exit 1; }

# infra/node_modules from infra/package-lock.json. scripts/setup normally did
# this already; the lock keeps two tests running in parallel from both
# installing.
ensure_infra_deps() {
  local infra="$TYCHO_SRC/infra"
  (
    flock 9
    if [ ! -d "$infra/node_modules" ] || [ "$infra/package-lock.json" -nt "$infra/node_modules/.package-lock.json" ]; then
      echo "installing infra dependencies (npm ci)"
      (cd "$infra" && npm ci --no-audit --no-fund --loglevel=error)
    fi
  ) 9>"${TMPDIR:-/tmp}/tycho-infra-npm.lock"
}
