"""Loopback proxy in front of an AWS JSON 1.0 peer (dynalite, local-aws-sqs)
that forwards every request and changes some answers the way the real
services may answer, for what the peers never do:
  - BatchWriteItem / BatchGetItem: with "defer": N, the last N entries of a
    request are not forwarded and come back in UnprocessedItems /
    UnprocessedKeys (DynamoDB under load), for the next "defer_requests"
    such requests (-1: all of them).
  - ReceiveMessage: a message whose Body contains "corrupt_body" gets a wrong
    MD5OfBody, one whose Body contains "corrupt_attrs" a wrong
    MD5OfMessageAttributes (a message damaged on its way).
  - DeleteMessageBatch: with "fail_deletes": N, the first entry of the next
    N such requests is not forwarded and comes back in Failed, with
    SenderFault "fail_sender_fault" (false: Code InternalError, SQS's own
    trouble; true: ReceiptHandleIsInvalid).
A changed DynamoDB answer gets its x-amz-crc32 recomputed.

Control (JSON bodies):
  POST /__control/config  merge settings: {"defer": 0, "defer_requests": -1,
                          "corrupt_body": null, "corrupt_attrs": null,
                          "fail_deletes": 0, "fail_sender_fault": false}
  GET  /__control/log     {"requests": [{"target": ..., "entries": N, "deferred": N}],
                           "corrupted": [MessageId, ...]}
  POST /__control/reset   settings and log cleared
usage: /usr/bin/python3 tamper_proxy.py PORT UPSTREAM_URL
"""
import http.client
import json
import sys
import threading
import zlib
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

LOCK = threading.Lock()
DEFAULTS = {"defer": 0, "defer_requests": -1, "corrupt_body": None, "corrupt_attrs": None,
            "fail_deletes": 0, "fail_sender_fault": False}
STATE = {}
UPSTREAM = None


def reset_state():
    STATE.clear()
    STATE.update({"config": dict(DEFAULTS), "requests": [], "corrupted": []})


reset_state()


def take_deferral():
    """The number of entries to hold back from this batch request."""
    cfg = STATE["config"]
    if not cfg["defer"] or cfg["defer_requests"] == 0:
        return 0
    if cfg["defer_requests"] > 0:
        cfg["defer_requests"] -= 1
    return cfg["defer"]


def defer_batch(op, req):
    """Holds back entries of a batch request: (request to forward, held back
    per table, entries in the request, entries held back)."""
    held, total, n_held = {}, 0, 0
    with LOCK:
        n = take_deferral()
    for table, v in req["RequestItems"].items():
        entries = v if op == "BatchWriteItem" else v["Keys"]
        total += len(entries)
        k = min(n - n_held, len(entries) - 1)  # forward at least one
        if k <= 0:
            continue
        keep, back = entries[:-k], entries[-k:]
        n_held += k
        if op == "BatchWriteItem":
            req["RequestItems"][table] = keep
            held[table] = back
        else:
            v["Keys"] = keep
            held[table] = dict(v, Keys=back)
    return req, held, total, n_held


def fail_first_delete(req):
    """(request to forward, or None when nothing is left to forward; the
    Failed entry for the one held back, or None)."""
    with LOCK:
        cfg = STATE["config"]
        if cfg["fail_deletes"] <= 0 or not req.get("Entries"):
            return req, None
        cfg["fail_deletes"] -= 1
        sender = bool(cfg["fail_sender_fault"])
    entry = req["Entries"].pop(0)
    failed = {"Id": entry["Id"], "SenderFault": sender,
              "Code": "ReceiptHandleIsInvalid" if sender else "InternalError",
              "Message": "tamper_proxy: entry failed on purpose"}
    return (req if req["Entries"] else None), failed


def corrupt_messages(res):
    cfg = STATE["config"]
    for m in res.get("Messages", []):
        body = m.get("Body", "")
        if cfg["corrupt_body"] and cfg["corrupt_body"] in body:
            m["MD5OfBody"] = "0" * 32
            STATE["corrupted"].append(m.get("MessageId"))
        elif cfg["corrupt_attrs"] and cfg["corrupt_attrs"] in body:
            m["MD5OfMessageAttributes"] = "0" * 32
            STATE["corrupted"].append(m.get("MessageId"))


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):
        pass

    def reply(self, code, body, headers):
        self.send_response(code)
        for k, v in headers.items():
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def control(self, what, body):
        with LOCK:
            if what == "config":
                STATE["config"].update(json.loads(body or b"{}"))
                out = STATE["config"]
            elif what == "log":
                out = {"requests": STATE["requests"], "corrupted": STATE["corrupted"]}
            elif what == "reset":
                reset_state()
                out = {}
            else:
                return self.reply(404, b"{}", {"Content-Type": "application/json"})
        self.reply(200, json.dumps(out).encode(), {"Content-Type": "application/json"})

    def do_POST(self):
        n = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(n) if n else b""
        path = urlsplit(self.path).path
        if path.startswith("/__control/"):
            return self.control(path[len("/__control/"):], body)
        target = self.headers.get("X-Amz-Target", "")
        op = target.rsplit(".", 1)[-1]
        held, entries, n_held = {}, 0, 0
        failed = None
        if op in ("BatchWriteItem", "BatchGetItem"):
            req, held, entries, n_held = defer_batch(op, json.loads(body))
            body = json.dumps(req).encode()
        elif op == "DeleteMessageBatch":
            req, failed = fail_first_delete(json.loads(body))
            if req is None:  # its only entry failed: nothing goes upstream
                with LOCK:
                    STATE["requests"].append({"target": target, "entries": 1, "failed": 1})
                return self.reply(200, json.dumps({"Successful": [], "Failed": [failed]}).encode(),
                                  {"Content-Type": "application/x-amz-json-1.0"})
            body = json.dumps(req).encode()
        with LOCK:
            STATE["requests"].append({"target": target, "entries": entries, "deferred": n_held})
        headers = {k: v for k, v in self.headers.items()
                   if k.lower() not in ("host", "content-length", "connection")}
        conn = http.client.HTTPConnection(UPSTREAM.hostname, UPSTREAM.port, timeout=60)
        conn.request("POST", self.path, body, headers)
        res = conn.getresponse()
        out = res.read()
        out_headers = {k: v for k, v in res.getheaders()
                       if k.lower() not in ("content-length", "connection", "transfer-encoding",
                                            "date")}
        conn.close()
        changed = False
        if res.status == 200 and (held or failed or op == "ReceiveMessage") and out:
            doc = json.loads(out)
            if failed:
                doc.setdefault("Failed", []).append(failed)
            elif op == "BatchWriteItem":
                doc.setdefault("UnprocessedItems", {}).update(held)
            elif op == "BatchGetItem":
                doc.setdefault("UnprocessedKeys", {}).update(held)
            else:
                with LOCK:
                    corrupt_messages(doc)
            out, changed = json.dumps(doc).encode(), True
        if changed:
            for k in list(out_headers):
                if k.lower() == "x-amz-crc32":
                    out_headers[k] = str(zlib.crc32(out) & 0xffffffff)
        self.reply(res.status, out, out_headers)

    do_GET = do_POST


class Server(ThreadingHTTPServer):
    daemon_threads = True


def main():
    global UPSTREAM
    UPSTREAM = urlsplit(sys.argv[2])
    srv = Server(("127.0.0.1", int(sys.argv[1])), Handler)
    print(srv.server_address[1], flush=True)
    srv.serve_forever()


if __name__ == "__main__":
    main()
