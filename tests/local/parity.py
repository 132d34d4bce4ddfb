#!/usr/bin/env python3
"""Parity driver: sends the same AWS JSON requests to a real emulator (with
curl) and to tycho's local executor (tests/tools/local_exec, JSON lines in
and out), normalizes both responses and compares them.

    parity.py FIXTURE --local-exec PATH --data-dir DIR --sqs URL --ddb URL

Fixture (JSON lines; '#' lines are comments):
  {"quirks": {name: reason, ...}}            declared once: known, explained
                                             emulator differences
  {"target": "AmazonSQS.Op", "body": {...},  a request; "${QURL}" in strings is
   "capture": {"h": "Messages.0.ReceiptHandle"},   the queue URL prefix of the
   "sleep_ms": 1300,                         side; "${h}" uses a captured value
   "mark": "sent",                           (the time this entry was answered)
   "after": {"mark": "sent", "ms": 61000},   (waits until then, the entries
                                             between included: a long wait
                                             overlaps the rest of the run)
   "ignore": ["Attributes.X"], "why": "...", (a whole-string "${lek}" is
   "unordered": ["Items"],                   replaced by the captured JSON value)
   "quirks": ["empty-body"],
   "compare_message": true,                  (the error message is compared too)
   "deviation": {"reason": "...", "local": {...}, "peer": {...}}}

Comparison: HTTP status, then the normalized bodies. Normalization drops
values that differ by design (ids, receipt handles, timestamps, error
message text, unless the entry has "compare_message"), replaces queue URL prefixes, sorts set values (SS/NS/BS) and
the arrays listed in "unordered". A "deviation" entry is not compared with
the peer: each side is checked against its own expectation, and both are
printed. Exit status 0 only if every entry passed.
"""
import json
import re
import subprocess
import sys
import time

DROP = {"MessageId", "ReceiptHandle", "RequestId", "message", "Message", "TableId",
        "CreationDateTime", "SentTimestamp", "ApproximateFirstReceiveTimestamp",
        "CreatedTimestamp", "LastModifiedTimestamp", "LastUpdateToPayPerRequestDateTime",
        "SenderId"}
ACCOUNT = "123456789012"
ARN = re.compile(r"arn:aws:(sqs|dynamodb):[a-z0-9-]+:[0-9]{12}:")


def parse_args(argv):
    args = {"fixture": argv[1]}
    i = 2
    while i < len(argv):
        args[argv[i].lstrip("-").replace("-", "_")] = argv[i + 1]
        i += 2
    return args


class Local:
    def __init__(self, exe, data_dir):
        self.p = subprocess.Popen(
            [exe, "--dir", data_dir, "--no-auto-create", "--account", ACCOUNT, "--region", "us-east-1"],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, bufsize=1)
        self.qurl = "http://localhost/" + ACCOUNT

    def call(self, target, body):
        line = {"target": target}
        if isinstance(body, str):
            line["raw_body"] = body
        else:
            line["body"] = body
        self.p.stdin.write(json.dumps(line) + "\n")
        self.p.stdin.flush()
        out = json.loads(self.p.stdout.readline())
        return out["status"], out["body"]

    def close(self):
        self.p.stdin.close()
        self.p.wait(timeout=10)


class Peer:
    def __init__(self, sqs_url, ddb_url):
        self.sqs, self.ddb = sqs_url, ddb_url
        self.qurl = sqs_url + "/" + ACCOUNT

    def call(self, target, body):
        """One request; a created table is waited for until it is ACTIVE:
        DynamoDB (and dynalite, for a moment) answers CreateTable with the
        table CREATING and refuses items until then (the local store's
        tables are ACTIVE at once)."""
        status, rbody = self.send(target, body)
        if status == 200 and target == "DynamoDB_20120810.CreateTable":
            self.wait_active(rbody["TableDescription"]["TableName"])
        return status, rbody

    def send(self, target, body):
        url = self.sqs if target.startswith("AmazonSQS.") else self.ddb
        data = body if isinstance(body, str) else json.dumps(body)
        # dynalite wants a well-formed (not verified) SigV4 header; local-aws-sqs ignores it.
        cmd = ["curl", "-sS", "-o", "-", "-w", "\n%{http_code}", url + "/",
               "-H", "X-Amz-Target: " + target,
               "-H", "Content-Type: application/x-amz-json-1.0",
               "-H", "X-Amz-Date: 20240101T000000Z",
               "-H", "Authorization: AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20240101/us-east-1/"
                     "dynamodb/aws4_request, SignedHeaders=content-type;host;x-amz-date;x-amz-target, "
                     "Signature=0000",
               "--data-binary", "@-"]
        r = subprocess.run(cmd, input=data.encode(), capture_output=True, timeout=30, check=True)
        text, _, code = r.stdout.decode().rpartition("\n")
        status = int(code)
        if text.strip() == "":
            return status, ""  # an empty body, kept distinct from {}
        try:
            return status, json.loads(text)
        except ValueError:
            return status, {"__unparsable__": text[:200]}

    def wait_active(self, table, timeout=10.0):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            status, body = self.send("DynamoDB_20120810.DescribeTable", {"TableName": table})
            if status == 200 and body.get("Table", {}).get("TableStatus") == "ACTIVE":
                return
            time.sleep(0.05)
        raise RuntimeError("peer table %s is not ACTIVE after %g s" % (table, timeout))


def substitute(v, side, captures):
    if isinstance(v, str):
        if v.startswith("${") and v.endswith("}") and v[2:-1] in captures[side]:
            return captures[side][v[2:-1]]
        v = v.replace("${QURL}", side.qurl)
        for k, val in captures[side].items():
            if isinstance(val, str):
                v = v.replace("${" + k + "}", val)
        return v
    if isinstance(v, list):
        return [substitute(x, side, captures) for x in v]
    if isinstance(v, dict):
        return {k: substitute(x, side, captures) for k, x in v.items()}
    return v


def get_path(obj, path):
    for part in path.split("."):
        if isinstance(obj, list):
            obj = obj[int(part)] if part.isdigit() and int(part) < len(obj) else None
        elif isinstance(obj, dict):
            obj = obj.get(part)
        else:
            return None
    return obj


def del_path(obj, parts):
    if not parts or obj is None:
        return
    head, rest = parts[0], parts[1:]
    if head == "*" and isinstance(obj, list):
        for x in obj:
            del_path(x, rest)
        return
    if isinstance(obj, dict):
        if not rest:
            obj.pop(head, None)
        else:
            del_path(obj.get(head), rest)
    elif isinstance(obj, list) and head.isdigit() and int(head) < len(obj):
        if not rest:
            obj.pop(int(head))
        else:
            del_path(obj[int(head)], rest)


def normalize(v, qurl):
    if isinstance(v, dict):
        out = {}
        for k, x in v.items():
            if k in DROP:
                continue
            x = normalize(x, qurl)
            if k in ("SS", "NS", "BS") and isinstance(x, list):
                x = sorted(x)
            if k in ("QueueUrls", "TableNames") and isinstance(x, list):
                x = sorted(x)
            if k == "RedrivePolicy" and isinstance(x, str):
                try:
                    p = json.loads(x)
                    p["maxReceiveCount"] = int(p.get("maxReceiveCount", 0))
                    x = p
                except ValueError:
                    pass
            out[k] = x
        return out
    if isinstance(v, list):
        return [normalize(x, qurl) for x in v]
    if isinstance(v, str):
        # ARNs carry the emulator's account (dynalite 000000000000,
        # local-aws-sqs 123456789012) and region: compare the resource part.
        v = ARN.sub(r"arn:aws:\1:REGION:ACCOUNT:", v)
        return v.replace(qurl, "${QURL}")
    return v


def prepare(status, body, entry, qurl):
    """Paths in "ignore"/"unordered" start at the response: "body.Items"."""
    res = {"status": status, "body": normalize(body, qurl)}
    if entry.get("compare_message") and isinstance(body, dict):
        # dynalite spells the key "Message" in a SerializationException
        res["body"]["message"] = body.get("message", body.get("Message"))
    for path in entry.get("ignore", []):
        del_path(res, path.split("."))
    for path in entry.get("unordered", []):
        arr = get_path(res, path)
        if isinstance(arr, list):
            arr.sort(key=lambda x: json.dumps(x, sort_keys=True))
    return res


def matches(expect, got):
    """expect is a subset pattern: every key it names must match."""
    if isinstance(expect, dict) and isinstance(got, dict):
        return all(k in got and matches(v, got[k]) for k, v in expect.items())
    if isinstance(expect, list) and isinstance(got, list):
        return len(expect) == len(got) and all(matches(e, g) for e, g in zip(expect, got))
    return expect == got


def main():
    args = parse_args(sys.argv)
    quirks = {}
    local = Local(args["local_exec"], args["data_dir"])
    peer = Peer(args["sqs"], args["ddb"])
    captures = {local: {}, peer: {}}
    passed = failed = deviations = 0
    marks = {}
    with open(args["fixture"]) as f:
        lines = [l for l in f if l.strip() and not l.lstrip().startswith("#")]
    for n, line in enumerate(lines, 1):
        entry = json.loads(line)
        if "quirks" in entry and "target" not in entry:
            quirks.update(entry["quirks"])
            continue
        if entry.get("sleep_ms"):
            time.sleep(entry["sleep_ms"] / 1000.0)
        if entry.get("after"):
            until = marks[entry["after"]["mark"]] + entry["after"]["ms"] / 1000.0
            time.sleep(max(0.0, until - time.monotonic()))
        target = entry["target"]
        res = {}
        for side in (local, peer):
            body = substitute(entry.get("raw_body", entry.get("body", {})), side, captures)
            status, rbody = side.call(target, body)
            for name, path in entry.get("capture", {}).items():
                captures[side][name] = get_path(rbody, path)
            res[side] = (status, rbody)
        if entry.get("mark"):
            marks[entry["mark"]] = time.monotonic()
        label = "%3d %s %s" % (n, target, entry.get("note", ""))
        for q in entry.get("quirks", []):
            if q not in quirks:
                print("FAIL %s: quirk %r is not declared with a reason" % (label, q))
                failed += 1
        lp = prepare(res[local][0], res[local][1], entry, local.qurl)
        pp = prepare(res[peer][0], res[peer][1], entry, peer.qurl)
        if "empty-body" in entry.get("quirks", []) and pp["body"] == "" and lp["body"] == {}:
            pp["body"] = {}
        if "batch-omits-empty-lists" in entry.get("quirks", []):
            for k in ("Successful", "Failed"):
                if k not in pp["body"] and lp["body"].get(k) == []:
                    pp["body"][k] = []
        dev = entry.get("deviation")
        if dev:
            ok = matches(dev["local"], lp) and ("peer" not in dev or matches(dev["peer"], pp))
            deviations += 1
            print("%s %s (deviation: %s)\n      local: %s\n      peer:  %s" % (
                "ok  " if ok else "FAIL", label, dev["reason"], json.dumps(lp)[:300], json.dumps(pp)[:300]))
        else:
            ok = lp == pp
            print("%s %s" % ("ok  " if ok else "FAIL", label))
            if not ok:
                print("      local: %s\n      peer:  %s" % (json.dumps(lp, sort_keys=True)[:1500],
                                                        json.dumps(pp, sort_keys=True)[:1500]))
        passed += ok
        failed += not ok
    local.close()
    print("parity: %d requests, %d deviations documented in the fixture" % (passed + failed, deviations))
    print("%d passed, %d failed" % (passed, failed))
    return 0 if failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
