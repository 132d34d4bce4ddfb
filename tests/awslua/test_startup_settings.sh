#!/usr/bin/env bash
# With TYCHO_AWS_BACKEND=aws, `tycho serve` checks the AWS settings at start,
# as it does its own: no region, a bad region, a bad endpoint URL of any
# service (AWS_ENDPOINT_URL, AWS_ENDPOINT_URL_<SERVICE>, the profile's), a bad
# max attempts, no credential source, half of the environment's key pair, an
# AWS_PROFILE in neither shared file, or a bad credential URL or token stop
# start-up with exit 2 and one line naming the setting, before "listening".
# A password or token in a setting is in no output, neither then nor in the
# error a route gets back for an endpoint URL of its own. The local backend still
# starts without a region.
. "$(dirname "$0")/lib.sh"
aws_clean_env
export AWS_ACCESS_KEY_ID=AKIDEXAMPLE AWS_SECRET_ACCESS_KEY=fake-secret TYCHO_AWS_BACKEND=aws
export TEST_CONSUMER=off
SECRET=hunter2pw

# refused WANT [VAR=value...]: serve exits 2 within 10 s, stderr is one line
# "tycho: WANT...", nothing says "listening", $SECRET appears nowhere
refused() {
    local want=$1
    shift
    env "$@" timeout 10 "$TYCHO_BIN" serve --routes "$ROUTES" --listen 127.0.0.1:0 \
        --admin-listen 127.0.0.1:0 >"$TEST_TMP/out" 2>"$TEST_TMP/err"
    local rc=$? all
    all=$(cat "$TEST_TMP/out" "$TEST_TMP/err")
    if [ $rc -eq 2 ] && [ "$(wc -l <"$TEST_TMP/err")" -eq 1 ] &&
        grep -q "^tycho: $want" "$TEST_TMP/err" && ! grep -q listening <<<"$all" &&
        ! grep -q "$SECRET" <<<"$all"; then
        echo "     $(cat "$TEST_TMP/err")"
        return 0
    fi
    echo "     rc=$rc: $(head -c 400 <<<"$all")"
    return 1
}

check "no region: refused naming AWS_REGION" refused "AWS_REGION: not set"
mkdir -p "$HOME/.aws"
printf '[profile app]\noutput = json\n' >"$HOME/.aws/config"
check "no region from the profile file either" refused "AWS_REGION: not set .* profile 'app'" \
    AWS_PROFILE=app
check "an AWS_PROFILE in neither file: refused naming both (botocore: ProfileNotFound)" \
    refused "AWS_PROFILE: profile \"nonexist\" not found in $HOME/.aws/config or $HOME/.aws/credentials$" \
    AWS_PROFILE=nonexist
check "AWS_ACCESS_KEY_ID without AWS_SECRET_ACCESS_KEY: refused naming the missing one" \
    refused "AWS_SECRET_ACCESS_KEY: not set, but AWS_ACCESS_KEY_ID is" -u AWS_SECRET_ACCESS_KEY
check "AWS_SECRET_ACCESS_KEY alone, nothing else: 'none found' says AWS_ACCESS_KEY_ID is missing" \
    refused "aws credentials: none found .*; AWS_ACCESS_KEY_ID: not set, but AWS_SECRET_ACCESS_KEY is$" \
    -u AWS_ACCESS_KEY_ID
check "a bad region name: refused naming where it came from" \
    refused "AWS_DEFAULT_REGION: not a region name" "AWS_DEFAULT_REGION=us east/1"
check "a region with a trailing blank (an env file's): the value quoted, the blank seen" \
    refused "AWS_REGION: not a region name (letters, digits, '-'): \"us-east-1 \"$" \
    "AWS_REGION=us-east-1 "
export AWS_REGION=us-east-1
check "AWS_ENDPOINT_URL with a password: refused, redacted" \
    refused "AWS_ENDPOINT_URL: user:password@ is not allowed in an endpoint URL: http://\*\*\*@127.0.0.1:1$" \
    "AWS_ENDPOINT_URL=http://user:$SECRET@127.0.0.1:1"
check "AWS_ENDPOINT_URL_DYNAMODB with a password: refused, redacted" \
    refused "AWS_ENDPOINT_URL_DYNAMODB: user:password@ is not allowed" \
    "AWS_ENDPOINT_URL_DYNAMODB=http://$SECRET@127.0.0.1:1/?token=$SECRET"
check "the endpoint of a service tycho does not know: refused too" \
    refused "AWS_ENDPOINT_URL_KINESIS: not an http(s)://host\[:port\]\[/path\] URL: localhost:4567$" \
    AWS_ENDPOINT_URL_KINESIS=localhost:4567
check "an endpoint URL with a port and no host: refused" \
    refused "AWS_ENDPOINT_URL_SQS: not an http(s)://host\[:port\]\[/path\] URL: http://:4566$" \
    AWS_ENDPOINT_URL_SQS=http://:4566
check "an endpoint URL with a space: refused" \
    refused "AWS_ENDPOINT_URL_SQS: a space, control or non-ASCII character in an endpoint URL" \
    "AWS_ENDPOINT_URL_SQS=http://127.0.0.1:1/a b"
check "an endpoint URL with a raw non-ASCII path: refused, percent-encode it" \
    refused "AWS_ENDPOINT_URL_SQS: .*(percent-encode it" "AWS_ENDPOINT_URL_SQS=http://127.0.0.1:1/ü"
check "an endpoint URL with a query: refused" \
    refused "AWS_ENDPOINT_URL: an endpoint URL takes no query or fragment: http://127.0.0.1:1/p?...$" \
    "AWS_ENDPOINT_URL=http://127.0.0.1:1/p?x=a%2Fb"
mkdir -p "$HOME/.aws"
printf '[profile app]\nregion = eu-west-1\nservices = app-svc\n[services app-svc]\nsqs =\n  endpoint_url = https://u:%s@sqs.example\n' \
    "$SECRET" >"$HOME/.aws/config"
check "a profile's services endpoint with a password: refused, redacted" \
    refused "profile 'app' services sqs.endpoint_url: user:password@ is not allowed" \
    AWS_REGION= AWS_PROFILE=app
check "AWS_MAX_ATTEMPTS out of range: refused" refused "AWS_MAX_ATTEMPTS: must be between 1 and 50" \
    AWS_MAX_ATTEMPTS=0
# numbers are decimal: atoi took 5x as 5, atof 0x10 as 16 s and inf as an overflow
check "AWS_MAX_ATTEMPTS=5x: refused, not read as 5" \
    refused "AWS_MAX_ATTEMPTS: must be between 1 and 50 (decimal digits): 5x$" AWS_MAX_ATTEMPTS=5x
check "AWS_MAX_ATTEMPTS=0x10: refused naming the value" \
    refused "AWS_MAX_ATTEMPTS: must be between 1 and 50 (decimal digits): 0x10$" AWS_MAX_ATTEMPTS=0x10
check "AWS_METADATA_SERVICE_TIMEOUT=0x10: refused" \
    refused "AWS_METADATA_SERVICE_TIMEOUT: not a timeout from 1ms to 1h (decimal seconds, .*: 0x10$" \
    -u AWS_ACCESS_KEY_ID -u AWS_SECRET_ACCESS_KEY -u AWS_EC2_METADATA_DISABLED \
    AWS_METADATA_SERVICE_TIMEOUT=0x10
check "AWS_METADATA_SERVICE_TIMEOUT=inf: refused" \
    refused "AWS_METADATA_SERVICE_TIMEOUT: not a timeout .*: inf$" \
    -u AWS_ACCESS_KEY_ID -u AWS_SECRET_ACCESS_KEY -u AWS_EC2_METADATA_DISABLED \
    AWS_METADATA_SERVICE_TIMEOUT=inf
check "AWS_METADATA_SERVICE_NUM_ATTEMPTS=abc: refused" \
    refused "AWS_METADATA_SERVICE_NUM_ATTEMPTS: must be between 1 and 50 (decimal digits): abc$" \
    -u AWS_ACCESS_KEY_ID -u AWS_SECRET_ACCESS_KEY -u AWS_EC2_METADATA_DISABLED \
    AWS_METADATA_SERVICE_NUM_ATTEMPTS=abc
check "no credential source (IMDS off): refused" refused "aws credentials: none found" \
    -u AWS_ACCESS_KEY_ID -u AWS_SECRET_ACCESS_KEY
check "AWS_CONTAINER_CREDENTIALS_FULL_URI with a password: refused, not shown" \
    refused "AWS_CONTAINER_CREDENTIALS_FULL_URI: not an http(s)://host\[:port\]/path URL" \
    -u AWS_ACCESS_KEY_ID -u AWS_SECRET_ACCESS_KEY \
    "AWS_CONTAINER_CREDENTIALS_FULL_URI=http://u:$SECRET@127.0.0.1:1/creds"
check "AWS_CONTAINER_AUTHORIZATION_TOKEN with a line break: refused, not shown" \
    refused "AWS_CONTAINER_AUTHORIZATION_TOKEN: contains CR or LF" \
    -u AWS_ACCESS_KEY_ID -u AWS_SECRET_ACCESS_KEY AWS_CONTAINER_CREDENTIALS_FULL_URI=http://127.0.0.1:1/c \
    "AWS_CONTAINER_AUTHORIZATION_TOKEN=$SECRET"$'\r\nX-Injected: 1'
check "AWS_EC2_METADATA_SERVICE_ENDPOINT with a password: refused, not shown" \
    refused "AWS_EC2_METADATA_SERVICE_ENDPOINT: not an http(s) URL" \
    -u AWS_ACCESS_KEY_ID -u AWS_SECRET_ACCESS_KEY -u AWS_EC2_METADATA_DISABLED \
    "AWS_EC2_METADATA_SERVICE_ENDPOINT=http://u:$SECRET@127.0.0.1:1"
rm -f "$HOME/.aws/config"

# good settings start; an endpoint a route passes is not shown
export AWS_ENDPOINT_URL=http://127.0.0.1:1
serve_start good --workers 1 || exit 1
check "good settings: listening" wait_until 5 grep -q '"msg":"listening"' "$LOG"
r=$(post /aws "{\"service\":\"sqs\",\"target\":\"AmazonSQS.ListQueues\",\"endpoint\":\"http://u:$SECRET@127.0.0.1:1\"}")
no_secret_error() {
    [ "$(jget "$r" error.type)" = ConfigurationError ] && ! grep -q "$SECRET" <<<"$r" ||
        { echo "     $r"; return 1; }
}
check "a route's endpoint with a password: ConfigurationError without it" no_secret_error
serve_stop
no_secret_in_log() { ! grep -q "$SECRET" "$LOG"; }
check "no password in the log" no_secret_in_log

# the local backend needs no region
unset AWS_REGION AWS_ENDPOINT_URL
export TYCHO_AWS_BACKEND=local TYCHO_DATA_DIR="$TEST_TMP/data"
serve_start local --workers 1 || exit 1
check "local backend without a region: listening" wait_until 5 grep -q '"msg":"listening"' "$LOG"
serve_stop
finish
