#!/usr/bin/env bash
# SigV4 on exports: remote write signed for "aps" and OTLP for "xray" are
# captured at a loopback receiver and re-signed by the reference signer
# (botocore, /usr/bin/python3, PEERS.md item 9) from the captured X-Amz-Date;
# the Authorization headers must be identical. Also: a 403 is not retried,
# and missing credentials are a retried failure, not a crash.
source "$(dirname "$0")/lib.sh"
PY=/usr/bin/python3
"$PY" -c 'import botocore' 2>/dev/null ||
    fail "/usr/bin/python3 cannot import botocore (python3-botocore; scripts/setup installs it)"

start_receiver R
export AWS_ACCESS_KEY_ID=AKIDEXAMPLE
export AWS_SECRET_ACCESS_KEY='wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY'
export AWS_SESSION_TOKEN='IQoJb3JpZ2luX2VjEXAMPLETOKEN//+=='
export AWS_REGION=us-west-2
export AWS_EC2_METADATA_DISABLED=true

echo "--- remote write, service aps (explicit), region from AWS_REGION"
TYCHO_REMOTE_WRITE_URL="http://127.0.0.1:$R_PORT/workspaces/ws-1234/api/v1/remote_write" \
TYCHO_REMOTE_WRITE_SIGV4_SERVICE=aps TYCHO_REMOTE_WRITE_INTERVAL=0.3 \
    "$DRIVER" counter 3 hist 0.2 sleep 800 status shutdown 2000 >"$WORK/rw.out" || fail "driver failed"
captured "$R_PORT" "$WORK/rw.json"
"$PY" "$EXP_DIR/sigv4_verify.py" "$WORK/rw.json" aps us-west-2 2 || fail "aps signatures"
node -e '
const r = JSON.parse(require("fs").readFileSync(process.argv[1]))[0];
const a = r.headers.authorization;
const signed = a.split("SignedHeaders=")[1].split(",")[0].split(";");
for (const h of ["content-encoding", "content-type", "host", "x-amz-date", "x-amz-security-token",
                 "x-prometheus-remote-write-version"])
  if (!signed.includes(h)) throw new Error("not signed: " + h + " in " + a);
if (signed.includes("user-agent")) throw new Error("user-agent signed");
if (r.headers["content-encoding"] !== "snappy") throw new Error("content-encoding");
if (r.headers["x-prometheus-remote-write-version"] !== "0.1.0") throw new Error("rw version");' \
    "$WORK/rw.json" || fail "remote write headers"

echo "--- OTLP, service xray, region from TYCHO_OTLP_SIGV4_REGION, extra header, query"
reset_captured "$R_PORT"
OTEL_EXPORTER_OTLP_TRACES_ENDPOINT="http://127.0.0.1:$R_PORT/v1/traces?b=2&a=1" \
OTEL_EXPORTER_OTLP_HEADERS='x-custom=a%20%20b%20,x-team=obs' \
TYCHO_OTLP_SIGV4_SERVICE=xray TYCHO_OTLP_SIGV4_REGION=eu-west-1 OTEL_BSP_SCHEDULE_DELAY=100 \
    "$DRIVER" span spans 2 idle 3000 shutdown 2000 >"$WORK/ot.out" || fail "driver failed"
captured "$R_PORT" "$WORK/ot.json"
"$PY" "$EXP_DIR/sigv4_verify.py" "$WORK/ot.json" xray eu-west-1 1 || fail "xray signatures"

echo "--- OTLP gzip: the signature covers the compressed body and Content-Encoding"
reset_captured "$R_PORT"
OTEL_EXPORTER_OTLP_TRACES_ENDPOINT="http://127.0.0.1:$R_PORT/v1/traces" \
OTEL_EXPORTER_OTLP_COMPRESSION=gzip TYCHO_OTLP_SIGV4_SERVICE=xray OTEL_BSP_SCHEDULE_DELAY=100 \
    "$DRIVER" span spans 2 idle 3000 shutdown 2000 >"$WORK/gz.out" || fail "driver failed"
captured "$R_PORT" "$WORK/gz.json"
"$PY" "$EXP_DIR/sigv4_verify.py" "$WORK/gz.json" xray us-west-2 1 || fail "xray gzip signatures"
node -e '
const r = JSON.parse(require("fs").readFileSync(process.argv[1]))[0];
if (r.headers["content-encoding"] !== "gzip") throw new Error("content-encoding " + r.headers["content-encoding"]);
const signed = r.headers.authorization.split("SignedHeaders=")[1].split(",")[0].split(";");
if (!signed.includes("content-encoding")) throw new Error("content-encoding not signed");
require("zlib").gunzipSync(Buffer.from(r.body, "base64"));' "$WORK/gz.json" || fail "gzip OTLP headers"

echo "--- long-term keys: no security token"
reset_captured "$R_PORT"
env -u AWS_SESSION_TOKEN \
    TYCHO_REMOTE_WRITE_URL="http://127.0.0.1:$R_PORT/api/v1/write" \
    TYCHO_REMOTE_WRITE_SIGV4_SERVICE=aps TYCHO_REMOTE_WRITE_INTERVAL=0.3 \
    "$DRIVER" counter 1 sleep 500 shutdown 1000 >"$WORK/lt.out" || fail "driver failed"
captured "$R_PORT" "$WORK/lt.json"
env -u AWS_SESSION_TOKEN "$PY" "$EXP_DIR/sigv4_verify.py" "$WORK/lt.json" aps us-west-2 1 ||
    fail "long-term key signatures"
grep -q 'x-amz-security-token' "$WORK/lt.json" && fail "security token sent without a session"

echo "--- 403 from the service: dropped as rejected, not retried"
reset_captured "$R_PORT"
mode "$R_PORT" '{"status":403,"body":"{\"message\":\"The security token included in the request is invalid\"}"}'
TYCHO_REMOTE_WRITE_URL="http://127.0.0.1:$R_PORT/api/v1/write" \
TYCHO_REMOTE_WRITE_SIGV4_SERVICE=aps TYCHO_REMOTE_WRITE_INTERVAL=5 \
    "$DRIVER" counter 1 shutdown 2000 >"$WORK/f.out" || fail "driver failed"
captured "$R_PORT" "$WORK/f.json"
# two requests at shutdown, each once: the final values, then the stale markers
[ "$(jsget "$(cat "$WORK/f.json")" 's.length === 2 && s[0].body !== s[1].body')" = true ] ||
    fail "a 403 was retried: $(jsget "$(cat "$WORK/f.json")" 's.length') requests"
st=$(last_status "$WORK/f.out")
[ "$(jsget "$st" 's.exporters.metrics.dropped_by_reason.rejected > 0')" = true ] || fail "status: $st"
mode "$R_PORT" '{"status":200,"body":""}'

echo "--- no credentials anywhere (IMDS disabled): a config error at start, region from the host"
set +e
out=$(env -u AWS_ACCESS_KEY_ID -u AWS_SECRET_ACCESS_KEY -u AWS_SESSION_TOKEN \
    AWS_SHARED_CREDENTIALS_FILE=/nonexistent AWS_CONFIG_FILE=/nonexistent \
    TYCHO_REMOTE_WRITE_URL="https://aps-workspaces.us-east-1.amazonaws.com/workspaces/ws-1/api/v1/remote_write" \
    "$DRIVER" status 2>&1)
rc=$?
set -e
echo "  -> rc=$rc $out"
[ "$rc" = 2 ] || fail "exit $rc, expected 2: $out"
printf '%s' "$out" | grep -q '^TYCHO_REMOTE_WRITE_URL: SigV4 signing needs AWS credentials' ||
    fail "message: $out"
echo "PASS"
