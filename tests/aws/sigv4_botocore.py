"""Differential SigV4 test: botocore (Debian python3-botocore) vs tycho.

Generates N varied requests from a fixed seed, signs each with botocore's
SigV4Auth / S3SigV4Auth (clock frozen through request.context["timestamp"],
PEERS.md item 9: never by patching datetime), pipes the same descriptions to
tests/tools/aws_sign and compares Authorization and X-Amz-Content-SHA256.
Prints every mismatch with both canonical requests; exits 1 on any.

usage: /usr/bin/python3 sigv4_botocore.py AWS_SIGN_BINARY [N] [SEED]
"""
import json
import random
import subprocess
import sys
import time
from urllib.parse import quote

from botocore.auth import SigV4Auth, S3SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

SERVICES = ["sqs", "dynamodb", "aps", "xray", "sts", "logs", "execute-api",
            "service", "s3"]
REGIONS = ["us-east-1", "eu-west-1", "ap-southeast-2", "us-gov-west-1", "cn-north-1"]
HOSTS = ["sqs.us-east-1.amazonaws.com", "dynamodb.eu-west-1.amazonaws.com",
         "aps-workspaces.us-west-2.amazonaws.com", "xray.ap-southeast-2.amazonaws.com",
         "127.0.0.1", "localhost", "example.amazonaws.com", "bucket.s3.amazonaws.com"]
METHODS = ["GET", "POST", "PUT", "DELETE", "HEAD", "PATCH", "OPTIONS"]
# characters a decoded path segment / query component may contain
ALPHABET = ("abcXYZ019-_.~ !\"#$%&'()*+,/:;<=>?@[\\]^`{|}" + "é€ሴ😀ß" + "\u00a0\u2028")
# sub-delims and pchar extras a client may leave unencoded on the wire
PATH_SAFE_CHOICES = ["", "!$&'()*+,;=:@", "~", "!*'()", ":@"]
QUERY_SAFE_CHOICES = ["", "!*'()", ":@/?", "~", "$,;"]
HEADER_NAMES = ["Content-Type", "X-Amz-Target", "X-Amz-Meta-Color", "x-custom-header",
                "My-Header1", "Accept", "Content-Encoding", "X-Amz-Api-Version",
                "Cache-Control", "X-Amz-Meta-Multi"]
NEVER_SIGNED = ["User-Agent", "X-Amzn-Trace-Id", "Expect"]


def rand_text(r, lo, hi):
    return "".join(r.choice(ALPHABET) for _ in range(r.randint(lo, hi)))


def rand_value(r):
    words = ["".join(r.choice("abcdefXYZ0123456789=;/:,.\"'()") for _ in range(r.randint(1, 8)))
             for _ in range(r.randint(1, 4))]
    seps = [" ", "  ", "\t", " \t ", "   "]
    v = words[0]
    for w in words[1:]:
        v += r.choice(seps) + w
    return r.choice(["", " ", "  ", "\t"]) + v + r.choice(["", " ", "\t ", "  "])


def enc(s, safe, r):
    out = quote(s, safe=safe)
    if r.random() < 0.3:  # lowercase hex escapes are valid too
        res, i = [], 0
        while i < len(out):
            if out[i] == "%":
                res.append(out[i:i + 3].lower() if r.random() < 0.5 else out[i:i + 3])
                i += 3
            else:
                res.append(out[i])
                i += 1
        out = "".join(res)
    return out


def make_case(r, i):
    service = r.choice(SERVICES)
    s3 = service == "s3"
    scheme = r.choice(["http", "https"])
    host = r.choice(HOSTS)
    port = r.choice([None, None, 80, 443, 18000, 9324])
    netloc = host if port is None else f"{host}:{port}"
    method = r.choice(METHODS)

    # path: decoded segments, encoded once on the wire
    segs = []
    for _ in range(r.randint(0, 5)):
        k = r.random()
        if k < 0.08 and not s3:
            segs.append(".")
        elif k < 0.16 and not s3:
            segs.append("..")
        elif k < 0.22:
            segs.append("")  # gives "//"
        else:
            segs.append(rand_text(r, 1, 8))
    safe = r.choice(PATH_SAFE_CHOICES)
    wire_path = "/" + "/".join(enc(s, safe, r) for s in segs)
    if r.random() < 0.3 and segs:
        wire_path += "/"

    # query: decoded pairs, repeated names and empty values included
    params = []
    for _ in range(r.randint(0, 6)):
        if params and r.random() < 0.25:
            name = params[-1][0]  # repeated key
        else:
            name = r.choice(["Action", "Version", "a", "A", "b", "x-id", "Param1", "Param2",
                             rand_text(r, 1, 6)])
        value = r.choice(["", "value1", "1", rand_text(r, 0, 10)])
        params.append((name, value))

    headers = []
    for _ in range(r.randint(0, 5)):
        headers.append((r.choice(HEADER_NAMES), rand_value(r)))
    if r.random() < 0.3 and headers:  # duplicate header, arrival order matters
        headers.append((headers[0][0].upper(), rand_value(r)))
    if r.random() < 0.4:
        headers.append((r.choice(NEVER_SIGNED), rand_value(r)))
    if service in ("sqs", "dynamodb") and r.random() < 0.7:
        headers.append(("Content-Type", "application/x-amz-json-1.0"))
        headers.append(("X-Amz-Target", "DynamoDB_20120810.PutItem" if service == "dynamodb"
                        else "AmazonSQS.SendMessage"))

    kind = r.random()
    if kind < 0.3:
        body = b""
    elif kind < 0.6:
        body = json.dumps({"TableName": "items", "Item": {"pk": {"S": rand_text(r, 1, 20)}}},
                          ensure_ascii=False).encode()
    else:
        body = bytes(r.randrange(256) for _ in range(r.randint(1, 300)))

    akid = r.choice(["AKIDEXAMPLE", "ASIAXXXXEXAMPLE123", "AKIA" + str(r.randint(10**15, 10**16))])
    secret = "".join(r.choice("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789/+")
                     for _ in range(40))
    token = None
    if r.random() < 0.4:
        token = "".join(r.choice("abcdefXYZ0123456789/+=") for _ in range(r.randint(20, 300)))
    t = r.randint(946684800, 4102444800)  # 2000 .. 2100
    return {
        "i": i, "service": service, "s3": s3, "scheme": scheme, "netloc": netloc,
        "method": method, "wire_path": wire_path, "params": params, "headers": headers,
        "body": body, "akid": akid, "secret": secret, "token": token, "time": t,
        "region": r.choice(REGIONS),
        # payload signing disabled (https only): X-Amz-Content-SHA256: UNSIGNED-PAYLOAD
        "unsigned": scheme == "https" and r.random() < 0.15,
        # query given to tycho as the raw wire string rather than decoded pairs
        "raw_query": r.random() < 0.5,
        "query_safe": r.choice(QUERY_SAFE_CHOICES),
    }


class S3Config:
    def __init__(self, sign):
        self.s3 = {"payload_signing_enabled": sign}


def botocore_sign(c):
    creds = Credentials(c["akid"], c["secret"], c["token"])
    url = f"{c['scheme']}://{c['netloc']}{c['wire_path']}"
    req = AWSRequest(method=c["method"], url=url, data=c["body"])
    for name, value in c["headers"]:
        req.headers[name] = value  # HTTPHeaders appends: duplicates kept in order
    if c["params"]:
        req.params = list(c["params"])
    if c["s3"]:
        auth = S3SigV4Auth(creds, "s3", c["region"])
        if c["unsigned"]:
            req.context["client_config"] = S3Config(False)
    else:
        auth = SigV4Auth(creds, c["service"], c["region"])
        if c["unsigned"]:
            req.context["payload_signing_enabled"] = False
    req.context["timestamp"] = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(c["time"]))
    auth._modify_request_before_signing(req)
    cr = auth.canonical_request(req)
    sig = auth.signature(auth.string_to_sign(req, cr), req)
    auth._inject_signature_to_request(req, sig)
    return {
        "authorization": req.headers["Authorization"],
        "amz_date": req.headers["X-Amz-Date"],
        "content_sha256": req.headers.get("X-Amz-Content-SHA256", ""),
        "canonical_request": cr,
        "host": auth.headers_to_sign(req)["host"],
    }


def tycho_desc(c, host, r):
    d = {
        "id": c["i"], "method": c["method"], "host": host, "path": c["wire_path"],
        "headers": [list(h) for h in c["headers"]], "body_hex": c["body"].hex(),
        "service": c["service"], "region": c["region"], "akid": c["akid"],
        "secret": c["secret"], "time": c["time"], "s3": c["s3"],
        "content_sha256": c["unsigned"] and not c["s3"], "unsigned_payload": c["unsigned"],
    }
    if c["token"]:
        d["token"] = c["token"]
    if c["raw_query"]:
        d["query"] = "&".join(enc(k, c["query_safe"], r) + ("=" + enc(v, c["query_safe"], r)
                                                            if v or r.random() < 0.5 else "")
                              for k, v in c["params"])
    else:
        d["params"] = [list(p) for p in c["params"]]
    return d


def main():
    tool = sys.argv[1]
    n = int(sys.argv[2]) if len(sys.argv) > 2 else 300
    seed = int(sys.argv[3]) if len(sys.argv) > 3 else 20240501
    r = random.Random(seed)
    cases = [make_case(r, i) for i in range(n)]
    expected, lines = [], []
    for c in cases:
        b = botocore_sign(c)
        expected.append(b)
        lines.append(json.dumps(tycho_desc(c, b["host"], r)))
    p = subprocess.run([tool], input="\n".join(lines) + "\n", capture_output=True, text=True,
                       check=False)
    if p.returncode != 0:
        print(f"aws_sign exited {p.returncode}: {p.stderr}")
        return 1
    got = [json.loads(line) for line in p.stdout.splitlines() if line.strip()]
    if len(got) != n:
        print(f"aws_sign answered {len(got)} of {n} requests")
        return 1
    bad = 0
    stats = {"s3": 0, "token": 0, "raw_query": 0, "binary_body": 0, "unsigned": 0}
    for c, b, t in zip(cases, expected, got):
        stats["s3"] += c["s3"]
        stats["token"] += bool(c["token"])
        stats["raw_query"] += c["raw_query"] and bool(c["params"])
        stats["unsigned"] += c["unsigned"]
        stats["binary_body"] += bool(c["body"]) and not c["body"].startswith(b"{")
        fields = ("authorization", "amz_date", "content_sha256")
        if "error" in t or any(t.get(f) != b[f] for f in fields):
            bad += 1
            print(f"MISMATCH case {c['i']}: {c['method']} {c['service']} "
                  f"path={c['wire_path']!r} params={c['params']!r}")
            for f in fields:
                if t.get(f) != b[f]:
                    print(f"  {f}:\n    botocore: {b[f]!r}\n    tycho:    {t.get(f)!r}")
            if "error" in t:
                print(f"  tycho error: {t['error']}")
            print("  botocore canonical request:\n    " + b["canonical_request"].replace("\n", "\n    "))
            print("  tycho canonical request:\n    "
                  + str(t.get("canonical_request")).replace("\n", "\n    "))
    print(f"sigv4 vs botocore: {n} requests, {stats}")
    print(f"{n - bad} passed, {bad} failed")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
