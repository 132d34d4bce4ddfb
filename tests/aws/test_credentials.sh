#!/usr/bin/env bash
# Credential chain against loopback imitations of the metadata endpoints
# (tests/aws/fake_aws.py): env, shared files, container (relative + full URI,
# token file re-read, CR/LF refused), IMDSv2 (+ v1 fallback), web identity
# (STS, unsigned, retried), provider order, one fetch for many waiters,
# forced refresh, and no secret in any output.
. "$(dirname "$0")/lib.sh"
tycho_start_fake_aws || exit 1
CREDS="$AWS_TOOLS/aws_creds"
OUT="$TEST_TMP/out.log" # everything the tool printed, checked for secrets at the end

run_creds() { "$CREDS" "$@" 2>>"$OUT" | tee -a "$OUT"; }

# --- env ------------------------------------------------------------------
aws_clean_env
export AWS_ACCESS_KEY_ID=AKIAENVEXAMPLE0001 AWS_SECRET_ACCESS_KEY=env-secret-value
r=$(run_creds)
check "env: source" [ "$(jget "$r" source)" = env ]
check "env: key id" [ "$(jget "$r" akid)" = AKIAENVEXAMPLE0001 ]
check "env: describe is redacted" [ "$(jget "$r" describe)" = "env AKIAENVE..." ]
export AWS_SESSION_TOKEN=env-session-token
r=$(run_creds)
check "env: session token" [ -n "$(jget "$r" token_sha256)" ]
# env beats every other configured source
export AWS_CONTAINER_CREDENTIALS_RELATIVE_URI=/v2/credentials/x TYCHO_ECS_CREDENTIALS_HOST=127.0.0.1:$FAKE_AWS_PORT
export AWS_WEB_IDENTITY_TOKEN_FILE=/nonexistent AWS_ROLE_ARN=arn:aws:iam::123456789012:role/r
check "order: env before web identity and container" [ "$(jget "$(run_creds)" source)" = env ]
unset AWS_ACCESS_KEY_ID
check "order: env needs both variables" [ "$(jget "$(run_creds)" source)" = web-identity ]

# --- shared files -----------------------------------------------------------
aws_clean_env
mkdir -p "$HOME/.aws"
cat >"$HOME/.aws/config" <<CFG
[default]
region = eu-west-1
aws_access_key_id = AKIACONFIGDEFAULT01
aws_secret_access_key = config-secret

[profile dev]
aws_access_key_id = AKIACONFIGDEV000001
aws_secret_access_key = dev-secret
[dev]
aws_access_key_id = AKIAIGNOREDNOPREFIX
CFG
cat >"$HOME/.aws/credentials" <<CRED
# comment
[default]
aws_access_key_id = AKIACREDSFILE000001
aws_secret_access_key = creds-secret
aws_session_token = creds-token
CRED
r=$(run_creds)
check "files: source" [ "$(jget "$r" source)" = shared-file ]
check "files: credentials file beats config" [ "$(jget "$r" akid)" = AKIACREDSFILE000001 ]
check "files: session token" [ -n "$(jget "$r" token_sha256)" ]
check "files: AWS_PROFILE selects [profile dev]" \
    [ "$(AWS_PROFILE=dev run_creds | jget "$(cat)" akid)" = AKIACONFIGDEV000001 ]
cp "$HOME/.aws/credentials" "$TEST_TMP/alt-credentials"
sed -i 's/AKIACREDSFILE000001/AKIAALTFILE00000001/' "$TEST_TMP/alt-credentials"
check "files: AWS_SHARED_CREDENTIALS_FILE" \
    [ "$(AWS_SHARED_CREDENTIALS_FILE=$TEST_TMP/alt-credentials run_creds | jget "$(cat)" akid)" = AKIAALTFILE00000001 ]
export AWS_CONTAINER_CREDENTIALS_RELATIVE_URI=/v2/credentials/x TYCHO_ECS_CREDENTIALS_HOST=127.0.0.1:$FAKE_AWS_PORT
check "order: shared files before container" [ "$(jget "$(run_creds)" source)" = shared-file ]
# A key id without its secret, or a secret without its key id (a typo in the
# file), is refused with exit 2, naming the profile, the file and the missing
# key: never skipped for the container's credentials.
cat >>"$HOME/.aws/credentials" <<CRED
[typo]
aws_access_key_id = AKIAPARTIAL00000001
aws_secret_acess_key = partial-secret
[reverse]
aws_acces_key_id = AKIAPARTIAL00000002
aws_secret_access_key = partial-secret
CRED
AWS_PROFILE=typo "$CREDS" >"$TEST_TMP/partial.json" 2>>"$OUT"
check "files: a key id without its secret: exit 2" [ $? -eq 2 ]
cat "$TEST_TMP/partial.json" >>"$OUT"
check "files: a key id without its secret: refused, naming profile, file and missing key" \
    [ "$(jget "$(cat "$TEST_TMP/partial.json")" error)" = "aws credentials: profile \"typo\" in $HOME/.aws/credentials: aws_access_key_id is set but aws_secret_access_key is missing (set both, or neither)" ]
AWS_PROFILE=reverse "$CREDS" >"$TEST_TMP/partial.json" 2>>"$OUT"
check "files: a secret without its key id: exit 2" [ $? -eq 2 ]
cat "$TEST_TMP/partial.json" >>"$OUT"
check "files: a secret without its key id: refused, naming profile, file and missing key" \
    [ "$(jget "$(cat "$TEST_TMP/partial.json")" error)" = "aws credentials: profile \"reverse\" in $HOME/.aws/credentials: aws_secret_access_key is set but aws_access_key_id is missing (set both, or neither)" ]
rm -rf "$HOME/.aws"

# --- container --------------------------------------------------------------
aws_clean_env
fake_ctl reset '{}' >/dev/null
export AWS_CONTAINER_CREDENTIALS_RELATIVE_URI=/v2/credentials/abc TYCHO_ECS_CREDENTIALS_HOST=127.0.0.1:$FAKE_AWS_PORT
r=$(run_creds --concurrent 50)
check "container: source" [ "$(jget "$r" source)" = container ]
check "container: key id from the endpoint" [ "$(jget "$r" akid)" = ASIAFAKE0001 ]
check "container: 50 waiters served" [ "$(jget "$r" ok)" = 50 ]
check "container: one fetch for 50 waiters" [ "$(jget "$r" fetches)" = 1 ]
check "container: endpoint hit once" [ "$(jget "$(fake_ctl log)" counts.container)" = 1 ]
check "container: describe shows the expiry" grep -q "container ASIAFAKE... expires 20" <<<"$(jget "$r" describe)"
r=$(run_creds --rounds 2 --invalidate)
a1=$(jget "$(sed -n 1p <<<"$r")" akid)
a2=$(jget "$(sed -n 2p <<<"$r")" akid)
check "container: forced refresh fetches a new set" [ -n "$a2" ] && [ "$a1" != "$a2" ]
check "container: forced refresh counted" [ "$(jget "$(sed -n 2p <<<"$r")" fetches)" = 2 ]
# an endpoint whose current set is already in a refresh window (14 minutes
# left: advisory, 5: mandatory) is asked again after 30 s, not at every call
for left in 840 300; do
    fake_ctl reset '{}' >/dev/null
    fake_ctl config "{\"expiration_secs\": $left}" >/dev/null
    r=$(run_creds --rounds 10)
    check "container: a set with $left s left: 10 calls served" \
        [ "$(grep -c '"ok":1' <<<"$r")" = 10 ]
    check "container: a set with $left s left: fetched once for 10 calls" \
        [ "$(jget "$(fake_ctl log)" counts.container)" = 1 ]
done
fake_ctl config '{"expiration_secs": 3600}' >/dev/null

# full URI + authorization token file, re-read on every fetch
unset AWS_CONTAINER_CREDENTIALS_RELATIVE_URI
export AWS_CONTAINER_CREDENTIALS_FULL_URI="http://127.0.0.1:$FAKE_AWS_PORT/creds"
tokfile="$TEST_TMP/container-token"
printf 'token-A' >"$tokfile"
export AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE="$tokfile"
fake_ctl config '{"container_token":"token-A"}' >/dev/null
r=$(run_creds --rounds 2 --invalidate \
    --between "printf token-B >'$tokfile'; curl -sS -X POST $FAKE_AWS_URL/__control/config -d '{\"container_token\":\"token-B\"}' >/dev/null")
check "container: full URI with token file" [ "$(jget "$(sed -n 1p <<<"$r")" ok)" = 1 ]
check "container: rotated token file re-read" [ "$(jget "$(sed -n 2p <<<"$r")" ok)" = 1 ]
check "container: Authorization header sent" \
    grep -q '"authorization": "token-B"' <<<"$(fake_ctl log)"
printf 'token-B\r\nX-Evil: 1' >"$tokfile"
r=$(run_creds)
check "container: CR/LF in the token refused" grep -q "contains CR or LF" <<<"$(jget "$r" error)"
unset AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE
export AWS_CONTAINER_AUTHORIZATION_TOKEN=token-B
check "container: token from AWS_CONTAINER_AUTHORIZATION_TOKEN" [ "$(jget "$(run_creds)" ok)" = 1 ]
export AWS_CONTAINER_AUTHORIZATION_TOKEN=wrong
r=$(run_creds)
check "container: 401 reported with the endpoint's code" grep -q "HTTP 401 AccessDenied" <<<"$(jget "$r" error)"
unset AWS_CONTAINER_AUTHORIZATION_TOKEN
fake_ctl config '{"container_token":null}' >/dev/null
export AWS_CONTAINER_CREDENTIALS_FULL_URI="http://localhost:$FAKE_AWS_PORT/creds"
check "container: http://localhost resolves to loopback: allowed" [ "$(jget "$(run_creds)" ok)" = 1 ]

# --- IMDSv2 -----------------------------------------------------------------
aws_clean_env
unset AWS_EC2_METADATA_DISABLED
export AWS_EC2_METADATA_SERVICE_ENDPOINT="http://127.0.0.1:$FAKE_AWS_PORT/"
fake_ctl reset '{}' >/dev/null
r=$(run_creds)
log=$(fake_ctl log)
check "imds: source" [ "$(jget "$r" source)" = imds ]
check "imds: credentials" [ "$(jget "$r" ok)" = 1 ] && [ -n "$(jget "$r" token_sha256)" ]
check "imds: token PUT, role, credentials" [ "$(jget "$log" counts.imds_token)$(jget "$log" counts.imds_role)$(jget "$log" counts.imds_creds)" = 111 ]
fake_ctl config '{"imds_token_status":404,"imds_require_token":false}' >/dev/null
check "imds: v1 fallback after 404 on the token PUT" [ "$(jget "$(run_creds)" ok)" = 1 ]
r=$(AWS_EC2_METADATA_V1_DISABLED=true run_creds)
check "imds: no fallback when v1 is disabled" grep -q "token request HTTP 404" <<<"$(jget "$r" error)"
fake_ctl config '{"imds_token_status":200,"imds_require_token":true}' >/dev/null
# static stability: an expired IMDS set stays in use while IMDS has nothing
# newer, with one warning, rather than every AWS call failing. (a) IMDS
# answers a set that has already expired (its own outage: botocore extends it)
fake_ctl reset '{}' >/dev/null
fake_ctl config '{"expiration_secs": -120}' >/dev/null
r=$("$CREDS" --rounds 3 2>"$TEST_TMP/stale.err")
cat "$TEST_TMP/stale.err" >>"$OUT"
check "imds: an expired set answered is used (3 calls served)" [ "$(grep -c '"ok":1' <<<"$r")" = 3 ]
check "imds: ... and IMDS is not asked again at every call" \
    [ "$(jget "$(fake_ctl log)" counts.imds_creds)" = 1 ]
PAST='aws credentials expired and still in use past their expiry'
check "imds: one warning saying the set is used past its expiry" \
    [ "$(grep -c "$PAST" "$TEST_TMP/stale.err")" = 1 ]
check "imds: the warning says when it expired and what IMDS did" /usr/bin/python3 -c '
import json, sys
l = [json.loads(x) for x in open(sys.argv[1]) if "past their expiry" in x][0]
assert l["provider"] == "imds" and l["expired_at"].startswith("20") and l["expired_secs_ago"] >= 119, l
assert "already expired" in l["source_said"], l' "$TEST_TMP/stale.err"
# (b) the set in use expires while IMDS is down (token PUT: 500, then 401)
fake_ctl reset '{}' >/dev/null
fake_ctl config '{"expiration_secs": 2}' >/dev/null
r=$("$CREDS" --rounds 3 --between "sleep 3; curl -sS -X POST $FAKE_AWS_URL/__control/config -d '{\"imds_token_status\":500}' >/dev/null" \
    2>"$TEST_TMP/down.err")
cat "$TEST_TMP/down.err" >>"$OUT"
a1=$(jget "$(sed -n 1p <<<"$r")" akid)
check "imds: down after its set expired: the calls are still served" \
    [ "$(grep -c '"ok":1' <<<"$r")" = 3 ]
check "imds: ... with the expired set ($a1)" \
    [ "$(jget "$(sed -n 3p <<<"$r")" akid)" = "$a1" ] && [ -n "$a1" ]
check "imds: ... one warning naming IMDS's failure" /usr/bin/python3 -c '
import json, sys
l = [json.loads(x) for x in open(sys.argv[1]) if "past their expiry" in x]
assert len(l) == 1 and "500" in l[0]["source_said"], l' "$TEST_TMP/down.err"
fake_ctl reset '{}' >/dev/null
export AWS_EC2_METADATA_DISABLED=true
r=$(run_creds)
check "imds: AWS_EC2_METADATA_DISABLED leaves no source" grep -q "IMDS disabled" <<<"$(jget "$r" error)"

# --- web identity -----------------------------------------------------------
aws_clean_env
fake_ctl reset '{}' >/dev/null
printf 'eyJ.web-identity.jwt' >"$TEST_TMP/wi-token"
export AWS_WEB_IDENTITY_TOKEN_FILE="$TEST_TMP/wi-token" AWS_ROLE_ARN=arn:aws:iam::123456789012:role/tycho
export AWS_ROLE_SESSION_NAME=tycho-test AWS_REGION=us-east-1 AWS_ENDPOINT_URL_STS="$FAKE_AWS_URL"
fake_ctl config '{"web_identity_token":"eyJ.web-identity.jwt","sts_fail":1}' >/dev/null
export AWS_CONTAINER_CREDENTIALS_RELATIVE_URI=/v2/credentials/x TYCHO_ECS_CREDENTIALS_HOST=127.0.0.1:$FAKE_AWS_PORT
r=$(run_creds)
log=$(fake_ctl log)
check "web identity: source (before container)" [ "$(jget "$r" source)" = web-identity ]
check "web identity: credentials from STS" [ "$(jget "$r" akid)" = ASIAFAKE0001 ]
check "web identity: IDPCommunicationError retried" [ "$(jget "$log" counts.sts)" = 2 ]
check "web identity: unsigned form POST" /usr/bin/python3 -c '
import json, sys
reqs = [r for r in json.loads(sys.argv[1])["requests"] if "AssumeRoleWithWebIdentity" in r["body"]]
r = reqs[-1]
assert "authorization" not in r["headers"], r["headers"]
assert r["headers"]["content-type"].startswith("application/x-www-form-urlencoded")
assert "RoleArn=arn%3Aaws%3Aiam%3A%3A123456789012%3Arole%2Ftycho" in r["body"]
assert "RoleSessionName=tycho-test" in r["body"] and "Version=2011-06-15" in r["body"]
' "$log"
printf 'wrong-token' >"$TEST_TMP/wi-token"
r=$(run_creds)
check "web identity: STS error code in the message" grep -q "InvalidIdentityToken" <<<"$(jget "$r" error)"
unset AWS_WEB_IDENTITY_TOKEN_FILE AWS_ROLE_ARN
mkdir -p "$HOME/.aws"
printf '[default]\nweb_identity_token_file = %s\nrole_arn = arn:aws:iam::1:role/p\n' "$TEST_TMP/wi-token" >"$HOME/.aws/config"
printf 'eyJ.web-identity.jwt' >"$TEST_TMP/wi-token"
check "web identity: from profile keys" [ "$(jget "$(run_creds)" source)" = web-identity ]
rm -rf "$HOME/.aws"

# --- nothing configured -----------------------------------------------------
aws_clean_env
"$CREDS" >"$TEST_TMP/none.json" 2>>"$OUT"
check "none: chain refuses with exit 2" [ $? -eq 2 ]
check "none: says what was tried" grep -q "none found" "$TEST_TMP/none.json"

# --- secrets never printed --------------------------------------------------
check "no secret in any output" bash -c "! grep -E 'fake-secret|fake-session-token|env-secret-value|env-session-token|creds-secret|creds-token|config-secret|dev-secret|partial-secret|eyJ.web-identity|token-A|token-B' '$OUT'"
finish
