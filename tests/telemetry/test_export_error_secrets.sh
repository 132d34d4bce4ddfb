#!/usr/bin/env bash
# A receiver that echoes the credentials it was sent in its error answer
# (the Authorization header, the request target with its query): tycho's
# "exporter dropped a batch" lines and /-/status show the error without
# them — the URL's password, the Basic credentials made of it, a query
# token, an OTEL_EXPORTER_OTLP_HEADERS value — but still with the answer.
set -euo pipefail
: "${TYCHO_BIN:?}" "${TYCHO_SRC:?}"
work=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$work"; }
trap cleanup EXIT
fail() { echo "FAIL: $*"; exit 1; }

cat > "$work/echo.py" <<'PY'
import http.server, sys
class H(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        body = ("denied %s %s %s" % (self.headers.get("Authorization"),
                                      self.headers.get("X-Api-Key"), self.path)).encode()
        self.send_response(401)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def log_message(self, *a):
        pass
s = http.server.HTTPServer(("127.0.0.1", 0), H)
print(s.server_address[1], flush=True)
s.serve_forever()
PY
python3 "$work/echo.py" > "$work/port" &
pids+=($!)
for _ in $(seq 50); do [ -s "$work/port" ] && break; sleep 0.1; done
R=$(cat "$work/port")
[ -n "$R" ] || fail "the echoing receiver did not start"

OTEL_EXPORTER_OTLP_ENDPOINT="http://127.0.0.1:$R" OTEL_BSP_SCHEDULE_DELAY=100 \
  OTEL_EXPORTER_OTLP_HEADERS="Authorization=Bearer OTLPSECRET1,X-Api-Key=KEYSECRET2" \
  TYCHO_LOKI_URL="http://loki:PW%2FSECRET3@127.0.0.1:$R/loki/api/v1/push?a=1&token=QSECRET4" \
  TYCHO_LOKI_FLUSH_INTERVAL=100ms \
  "$TYCHO_BIN" serve --routes "$TYCHO_SRC/routes" --listen 127.0.0.1:0 --admin-listen 127.0.0.1:0 \
  --workers 1 --data-dir "$work/data" --no-reload > "$work/out" 2> "$work/err" &
pids+=($!)
for _ in $(seq 100); do grep -q '"msg":"listening"' "$work/out" && break; sleep 0.1; done
pub=$(grep -o '"public":"[^"]*"' "$work/out" | head -1 | cut -d'"' -f4)
admin=$(grep -o '"admin":"[^"]*"' "$work/out" | head -1 | cut -d'"' -f4)
[ -n "$pub" ] || fail "tycho did not start: $(cat "$work/err")"
curl -sf -m 2 "http://$pub/" > /dev/null || fail "GET / failed"
for _ in $(seq 50); do
  [ "$(grep -c '"exporter dropped a batch the receiver rejected"' "$work/out")" -ge 2 ] && break
  sleep 0.1
done
curl -sf -m 2 "http://$admin/-/status" > "$work/status" || fail "no /-/status"
basic=$(printf 'loki:PW/SECRET3' | base64)
for secret in OTLPSECRET1 KEYSECRET2 SECRET3 QSECRET4 "$basic"; do
  if grep -F -- "$secret" "$work/out" "$work/err" "$work/status"; then
    fail "$secret logged or shown"
  fi
done
for e in logs traces; do
  grep '"msg":"exporter dropped a batch the receiver rejected"' "$work/out" \
    | grep -q "\"exporter\":\"$e\".*\"error\":\"HTTP 401: denied " || fail "no $e error line: $(cat "$work/out")"
done
echo "ok: the receiver's echo of its credentials is masked in log lines and /-/status"
