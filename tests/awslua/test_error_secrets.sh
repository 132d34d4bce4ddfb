#!/usr/bin/env bash
# AWS error messages reach neither HTTP clients nor logs with secrets in them.
# A fake AWS endpoint (below) answers every call as real AWS does when the
# signature is wrong: 400 InvalidSignatureException whose message quotes the
# canonical request, x-amz-security-token (the session token) included, over
# several lines; or, in "denied" mode, AccessDeniedException naming the
# account id and role ARN. Checked: the aws.Error message is one line with
# the token redacted (a route that returns it), an escaped error answers a
# generic 500 with the request id, the reference app's routes answer without
# the message, a CredentialsError (container endpoint refused) answers
# without the endpoint, and no log line holds the token.
. "$(dirname "$0")/lib.sh"
aws_clean_env

TOKEN=SESSIONTOKENSECRET42
ACCOUNT=123456789012
cat >"$TEST_TMP/fake.py" <<'EOF'
import http.server, json, sys
mode = ["signature"]
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):  # /__mode/<signature|denied>
        mode[0] = self.path.rsplit("/", 1)[-1]
        self.send_response(204); self.end_headers()
    def do_POST(self):
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        tok = self.headers.get("X-Amz-Security-Token", "")
        tgt = self.headers.get("X-Amz-Target", "")
        if mode[0] == "typeline":  # a __type with a newline and an echoed token in it
            typ = "com.amazon.coral.service#Bad\nType Credential=%s" % tok
            msg = "echo x-amz-security-token:\t%s" % tok
        elif mode[0] == "denied":
            typ = "com.amazon.coral.service#AccessDeniedException"
            msg = ("User: arn:aws:sts::123456789012:assumed-role/tycho-task/i-0abc is not authorized "
                   "to perform: dynamodb:Query on resource: arn:aws:dynamodb:us-east-1:123456789012:table/t")
        else:
            typ = "com.amazon.coral.service#InvalidSignatureException"
            msg = ("The request signature we calculated does not match the signature you provided.\n\n"
                   "The Canonical String for this request should have been\n'POST\n/\n\n"
                   "content-type:application/x-amz-json-1.0\nhost:%s\nx-amz-date:20261126T000000Z\n"
                   "x-amz-security-token:%s\nx-amz-target:%s\n\n...'\n\n"
                   "The String-to-Sign should have been\n'AWS4-HMAC-SHA256\n...'"
                   % (self.headers.get("Host"), tok, tgt))
        body = json.dumps({"__type": typ, "message": msg}).encode()
        self.send_response(400)
        self.send_header("Content-Type", "application/x-amz-json-1.0")
        self.send_header("x-amzn-RequestId", "req-1")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers(); self.wfile.write(body)
    def log_message(self, *a): pass
http.server.ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), H).serve_forever()
EOF
FAKE_PORT=$(tycho_free_port)
/usr/bin/python3 "$TEST_TMP/fake.py" "$FAKE_PORT" &
FAKE_PID=$!
trap 'kill "$FAKE_PID" 2>/dev/null; [ -n "${PID:-}" ] && kill "$PID" 2>/dev/null' EXIT
tycho_wait_port "$FAKE_PORT" 10 || { echo "the fake AWS endpoint did not start"; exit 1; }
mode() { curl -sS "http://127.0.0.1:$FAKE_PORT/__mode/$1"; }

export AWS_REGION=us-east-1 AWS_ACCESS_KEY_ID=AKIAFAKE AWS_SECRET_ACCESS_KEY=fake-secret
export AWS_SESSION_TOKEN=$TOKEN AWS_ENDPOINT_URL="http://127.0.0.1:$FAKE_PORT" AWS_MAX_ATTEMPTS=1
export TYCHO_AWS_BACKEND=aws TEST_CONSUMER=off SQS_CONSUMER=off
GETITEM='{"service":"dynamodb","target":"DynamoDB_20120810.GetItem","params":{"TableName":"t"}}'
# lacks TEXT NEEDLE...: none of the needles is in TEXT
lacks() {
    local text=$1 n
    shift
    for n; do grep -qF -- "$n" <<<"$text" && return 1; done
    return 0
}
has() { grep -qF -- "$2" <<<"$1"; }

# --- the test routes: the aws.Error itself, and the runtime's default answer ---
serve_start secrets --workers 1 || exit 1
r=$(post /aws "$GETITEM")
msg=$(jget "$r" error.message)
check "InvalidSignatureException: the type, a server fault" \
    [ "$(jget "$r" error.type)/$(jget "$r" error.server_fault)" = "InvalidSignatureException/True" ]
check "the message keeps what AWS said" has "$msg" "should have been"
check "the message has the session token redacted" has "$msg" "x-amz-security-token:*** x-amz-target:"
check "the message lacks the session token" lacks "$msg" "$TOKEN"
check "the message is one line" [ "$(printf '%s' "$msg" | wc -l)" = 0 ]
check "err.details lacks the session token" lacks "$(jget "$r" error.details)" "$TOKEN"
# the type is AWS's text too: one line, redacted (it was passed on as sent)
mode typeline
r=$(post /aws "$GETITEM")
check "a __type with a newline and a token: one line, redacted ($(jget "$r" error.type))" \
    [ "$(jget "$r" error.type)" = "Bad Type Credential=***" ]
check "the message built from it lacks the token and is one line" \
    [ "$(lacks "$(jget "$r" error.message)" "$TOKEN" && jget "$r" error.message | wc -l)" = 1 ]
check "a tab after a secret's key is a space, as every control character ($(jget "$r" error.message))" \
    has "$(jget "$r" error.message)" "echo x-amz-security-token: ***"
mode signature

out=$(curl -sS -w '\n%{http_code}' -X POST "http://127.0.0.1:$PORT/aws-raise" -d "$GETITEM")
body=$(head -n1 <<<"$out")
check "escaped: 500" [ "$(tail -n1 <<<"$out")" = 500 ]
check "escaped: a generic message and the request id" \
    [ "$(jget "$body" error)/$(jget "$body" request_id | wc -c)" = "internal error/33" ]
check "escaped: the body lacks the token and AWS's message" lacks "$body" "$TOKEN" Canonical
check "escaped: the log line has the message, token redacted" wait_until 5 \
    grep -q 'handler raised an HTTP error.*InvalidSignatureException.*x-amz-security-token:\*\*\*' "$LOG"

mode denied
out=$(curl -sS -w '\n%{http_code}' -X POST "http://127.0.0.1:$PORT/aws-raise" -d "$GETITEM")
body=$(head -n1 <<<"$out")
check "AccessDenied escaped: 500, generic" \
    [ "$(tail -n1 <<<"$out")/$(jget "$body" error)" = "500/internal error" ]
check "AccessDenied escaped: no account id or role" lacks "$body" "$ACCOUNT" tycho-task
check "AccessDenied escaped: the log says who was denied" wait_until 5 \
    grep -q 'handler raised an HTTP error.*AccessDeniedException.*assumed-role/tycho-task' "$LOG"
serve_stop
check "no log line holds the session token" lacks "$(cat "$LOG")" "$TOKEN"

# --- the reference app (routes/): store.failure answers without the message ---
mode signature
ROUTES="$TYCHO_SRC/routes" serve_start app --workers 1 --data-dir "$TEST_TMP/data" || exit 1
out=$(curl -sS -w '\n%{http_code}' "http://127.0.0.1:$PORT/get-data/abc")
body=$(head -n1 <<<"$out")
check "app, InvalidSignatureException: 502 with the type and request id, no message" \
    [ "$(tail -n1 <<<"$out")/$(jget "$body" type)/$(jget "$body" message)/$(jget "$body" request_id | wc -c)" = \
    "502/InvalidSignatureException//33" ]
check "app, InvalidSignatureException: the body lacks the token" lacks "$body" "$TOKEN"
mode denied
out=$(curl -sS -w '\n%{http_code}' "http://127.0.0.1:$PORT/get-data/abc")
body=$(head -n1 <<<"$out")
check "app, AccessDenied: 502 with the type, no message" \
    [ "$(tail -n1 <<<"$out")/$(jget "$body" type)/$(jget "$body" message)" = "502/AccessDeniedException/" ]
check "app, AccessDenied: the body lacks the account id and role" lacks "$body" "$ACCOUNT" tycho-task
check "app: the log has what failed" wait_until 5 \
    grep -q 'DynamoDB Query failed.*AccessDeniedException.*assumed-role/tycho-task' "$LOG"
serve_stop
check "app: no log line holds the session token" lacks "$(cat "$LOG")" "$TOKEN"

# --- a CredentialsError: the container endpoint refuses ---
unset AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY AWS_SESSION_TOKEN
CREDS_PORT=$(tycho_free_port)
export AWS_CONTAINER_CREDENTIALS_FULL_URI="http://127.0.0.1:$CREDS_PORT/creds"
# escaped_hides NAME TYPE STATUS PORT LOGGED: a server started as NAME answers
# an escaped TYPE error with STATUS and "internal error", without the
# endpoint (127.0.0.1:PORT), whose log line matches LOGGED
escaped_hides() {
    local name=$1 type=$2 status=$3 port=$4 logged=$5 out body
    serve_start "$name" --workers 1 || exit 1
    out=$(curl -sS -w '\n%{http_code}' -X POST "http://127.0.0.1:$PORT/aws-raise" -d "$GETITEM")
    body=$(head -n1 <<<"$out")
    check "$type escaped: $status, generic" \
        [ "$(tail -n1 <<<"$out")/$(jget "$body" error)" = "$status/internal error" ]
    check "$type escaped: no endpoint" lacks "$body" "$port" 127.0.0.1
    check "$type escaped: the log names the endpoint" wait_until 5 \
        grep -q "handler raised an HTTP error.*$logged" "$LOG"
    serve_stop
}
escaped_hides creds CredentialsError 500 "$CREDS_PORT" "no AWS credentials: container.*$CREDS_PORT"

# --- a TransportError: nothing listens at the endpoint, whose host and port
# curl's message names (in production a VPC endpoint or a proxy) ---
unset AWS_CONTAINER_CREDENTIALS_FULL_URI
export AWS_ACCESS_KEY_ID=AKIAFAKE AWS_SECRET_ACCESS_KEY=fake-secret
DOWN_PORT=$(tycho_free_port)
export AWS_ENDPOINT_URL="http://127.0.0.1:$DOWN_PORT"
escaped_hides down TransportError 502 "$DOWN_PORT" "$DOWN_PORT"
ROUTES="$TYCHO_SRC/routes" serve_start app-down --workers 1 --data-dir "$TEST_TMP/data" || exit 1
out=$(curl -sS -w '\n%{http_code}' -X POST "http://127.0.0.1:$PORT/save-data" -d '{"n":1}')
body=$(head -n1 <<<"$out")
check "app, TransportError: 502 with the type and request id, no message" \
    [ "$(tail -n1 <<<"$out")/$(jget "$body" type)/$(jget "$body" message)/$(jget "$body" request_id | wc -c)" = \
    "502/TransportError//33" ]
check "app, TransportError: the body lacks the endpoint" lacks "$body" "$DOWN_PORT" 127.0.0.1
check "app, TransportError: the log has what failed, endpoint included" wait_until 5 \
    grep -q "DynamoDB PutItem failed.*connection refused.*port $DOWN_PORT" "$LOG"
serve_stop
finish
