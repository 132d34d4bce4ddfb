"""Loopback fake of the AWS endpoints tycho's C AWS layer talks to.

One server imitates, on one port:
  - the ECS/EKS container credentials endpoint  GET /v2/credentials/<id>, GET /creds
  - EC2 IMDSv2   PUT /latest/api/token, GET /latest/meta-data/iam/security-credentials/[role]
  - STS          POST / with Action=AssumeRoleWithWebIdentity (Query protocol, XML reply)
  - an AWS JSON 1.0 service (POST with X-Amz-Target) with scripted faults
Every credential set handed out has a fresh AccessKeyId (ASIAFAKE0001, 0002, ...)
so tests can see refreshes. Nothing here is a secret.

Control (JSON bodies):
  POST /__control/config  merge settings: {"container_token": "...",  # expected Authorization
                           "imds_token_status": 200, "imds_require_token": true,
                           "web_identity_token": "...", "expiration_secs": 3600,
                           "expired_akids": [...], "sts_fail": 0,
                           "creds_delay_ms": 0,   # before a container answer
                           "imds_delay_ms": 0,    # before an IMDS token answer
                           "expiration_text": null}  # the Expiration sent as is
  POST /__control/script  {"responses": [{"status": 400, "body": {...}, "headers": {...},
                           "delay_ms": 0, "action": "reset"|"close", "crc32": "bad"}, ...]}
                          consumed in order by AWS JSON requests; then 200 {"ok": true}.
                          A header set to null drops the default one (x-amzn-RequestId).
  GET  /__control/log     {"counts": {...}, "requests": [last 200 requests]}
  POST /__control/reset   counters, script and log cleared
usage: /usr/bin/python3 fake_aws.py   (prints the port on the first line)
"""
import json
import socket
import struct
import sys
import threading
import time
import zlib
from datetime import datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

LOCK = threading.Lock()
STATE = {}


def reset_state():
    STATE.clear()
    STATE.update({
        "config": {"container_token": None, "imds_token_status": 200,
                   "imds_require_token": True, "web_identity_token": None,
                   "expiration_secs": 3600, "expired_akids": [], "sts_fail": 0,
                   "creds_delay_ms": 0, "imds_delay_ms": 0, "expiration_text": None},
        "script": [], "log": [], "counts": {}, "serial": 0, "imds_tokens": set(),
    })


reset_state()


def count(kind):
    STATE["counts"][kind] = STATE["counts"].get(kind, 0) + 1


def new_creds():
    STATE["serial"] += 1
    exp = datetime.now(timezone.utc) + timedelta(seconds=STATE["config"]["expiration_secs"])
    return {"AccessKeyId": "ASIAFAKE%04d" % STATE["serial"],
            "SecretAccessKey": "fake-secret-%04d" % STATE["serial"],
            "Token": "fake-session-token-%04d" % STATE["serial"],
            "Expiration": STATE["config"]["expiration_text"] or exp.strftime("%Y-%m-%dT%H:%M:%SZ")}


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):
        pass

    def reply(self, code, body, ctype="application/json", headers=None):
        if isinstance(body, (dict, list)):
            body = json.dumps(body).encode()
        elif isinstance(body, str):
            body = body.encode()
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(body)

    def handle_any(self):
        u = urlsplit(self.path)
        n = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(n) if n else b""
        with LOCK:
            STATE["log"].append({"method": self.command, "path": self.path,
                                 "headers": {k.lower(): v for k, v in self.headers.items()},
                                 "body": body.decode("utf-8", "replace")})
            del STATE["log"][:-200]
        if u.path.startswith("/__control/"):
            return self.control(u.path[len("/__control/"):], body)
        if u.path.startswith("/v2/credentials/") or u.path == "/creds":
            return self.container()
        if u.path.startswith("/latest/"):
            return self.imds(u.path)
        target = self.headers.get("X-Amz-Target")
        if self.command == "POST" and target:
            return self.aws_json(target, body)
        if self.command == "POST" and b"AssumeRoleWithWebIdentity" in body:
            return self.sts(body)
        self.reply(404, {"error": "not found"})

    do_GET = do_POST = do_PUT = do_DELETE = handle_any

    def control(self, what, body):
        with LOCK:
            if what == "config":
                STATE["config"].update(json.loads(body or b"{}"))
                return self.reply(200, STATE["config"])
            if what == "script":
                STATE["script"].extend(json.loads(body)["responses"])
                return self.reply(200, {"queued": len(STATE["script"])})
            if what == "log":
                return self.reply(200, {"counts": STATE["counts"], "requests": STATE["log"]})
            if what == "reset":
                reset_state()
                return self.reply(200, {})
        self.reply(404, {})

    def container(self):
        with LOCK:
            count("container")
            want = STATE["config"]["container_token"]
            delay = STATE["config"]["creds_delay_ms"]
        if want is not None and self.headers.get("Authorization") != want:
            return self.reply(401, {"code": "AccessDenied", "message": "bad authorization token"})
        time.sleep(delay / 1000)
        with LOCK:
            c = new_creds()
        c["RoleArn"] = "arn:aws:iam::123456789012:role/tycho"
        self.reply(200, c)

    def imds(self, path):
        cfg = STATE["config"]
        if path == "/latest/api/token" and self.command == "PUT":
            with LOCK:
                count("imds_token")
            time.sleep(cfg["imds_delay_ms"] / 1000)
            if not self.headers.get("X-aws-ec2-metadata-token-ttl-seconds"):
                return self.reply(400, "missing ttl", "text/plain")
            if cfg["imds_token_status"] != 200:
                return self.reply(cfg["imds_token_status"], "", "text/plain")
            tok = "imds-token-%d" % time.time_ns()
            with LOCK:
                STATE["imds_tokens"].add(tok)
            return self.reply(200, tok, "text/plain")
        tok = self.headers.get("X-aws-ec2-metadata-token")
        if cfg["imds_require_token"] and tok not in STATE["imds_tokens"]:
            return self.reply(401, "", "text/plain")
        base = "/latest/meta-data/iam/security-credentials/"
        if path == base:
            with LOCK:
                count("imds_role")
            return self.reply(200, "tycho-role", "text/plain")
        if path == base + "tycho-role":
            with LOCK:
                count("imds_creds")
                c = new_creds()
            c.update({"Code": "Success", "Type": "AWS-HMAC",
                      "LastUpdated": "2026-01-01T00:00:00Z"})
            return self.reply(200, c)
        self.reply(404, "", "text/plain")

    def sts(self, body):
        form = {k: v[0] for k, v in parse_qs(body.decode()).items()}
        with LOCK:
            count("sts")
            want = STATE["config"]["web_identity_token"]
            fail = STATE["config"]["sts_fail"]
            if fail:
                STATE["config"]["sts_fail"] = fail - 1
        if fail:
            return self.reply(400, "<ErrorResponse><Error><Type>Sender</Type><Code>"
                              "IDPCommunicationError</Code><Message>idp down</Message></Error>"
                              "</ErrorResponse>", "text/xml")
        if ("Authorization" in self.headers or form.get("Version") != "2011-06-15"
                or not form.get("RoleArn") or not form.get("RoleSessionName")
                or (want is not None and form.get("WebIdentityToken") != want)):
            return self.reply(400, "<ErrorResponse><Error><Type>Sender</Type><Code>"
                              "InvalidIdentityToken.Bad</Code><Message>bad request or token"
                              "</Message></Error></ErrorResponse>", "text/xml")
        with LOCK:
            c = new_creds()
        xml = ("<AssumeRoleWithWebIdentityResponse xmlns=\"https://sts.amazonaws.com/doc/"
               "2011-06-15/\"><AssumeRoleWithWebIdentityResult><Credentials>"
               f"<AccessKeyId>{c['AccessKeyId']}</AccessKeyId>"
               f"<SecretAccessKey>{c['SecretAccessKey']}</SecretAccessKey>"
               f"<SessionToken>{c['Token']}&amp;x</SessionToken>"
               f"<Expiration>{c['Expiration']}</Expiration></Credentials>"
               f"<SubjectFromWebIdentityToken>sub</SubjectFromWebIdentityToken>"
               "</AssumeRoleWithWebIdentityResult></AssumeRoleWithWebIdentityResponse>")
        self.reply(200, xml, "text/xml")

    def aws_json(self, target, body):
        auth = self.headers.get("Authorization", "")
        akid = auth.split("Credential=")[1].split("/")[0] if "Credential=" in auth else ""
        with LOCK:
            count("aws")
            expired = akid in STATE["config"]["expired_akids"]
            step = STATE["script"].pop(0) if (STATE["script"] and not expired) else None
        if expired:
            return self.reply(400, {"__type": "com.amazon.coral.service#ExpiredTokenException",
                                    "message": "The security token included in the request is expired"},
                              "application/x-amz-json-1.0")
        if step is None:
            step = {"status": 200, "body": {"ok": True, "target": target}}
        time.sleep(step.get("delay_ms", 0) / 1000)
        if step.get("action") == "reset":
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.connection.close()
            self.close_connection = True
            return None
        if step.get("action") == "close":
            self.connection.shutdown(socket.SHUT_RDWR)
            self.close_connection = True
            return None
        out = step.get("body", {})
        raw = out.encode() if isinstance(out, str) else json.dumps(out).encode()
        crc = zlib.crc32(raw) & 0xffffffff
        headers = {"x-amzn-RequestId": "req-%d" % time.time_ns(),
                   "x-amz-crc32": str(crc + 1 if step.get("crc32") == "bad" else crc)}
        headers.update(step.get("headers", {}))
        headers = {k: v for k, v in headers.items() if v is not None}
        return self.reply(step.get("status", 200), raw, "application/x-amz-json-1.0", headers)


class Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 256

    def handle_error(self, request, client_address):
        pass


def main():
    srv = Server(("127.0.0.1", int(sys.argv[1]) if len(sys.argv) > 1 else 0), Handler)
    print(srv.server_address[1], flush=True)
    srv.serve_forever()


if __name__ == "__main__":
    main()
