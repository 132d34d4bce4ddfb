"""Re-signs captured export requests with botocore (Debian python3-botocore,
/usr/bin/python3) and compares the Authorization header byte for byte.

For each request: the service, region and date come from the request's own
Authorization and X-Amz-Date; the headers given to botocore are the ones the
exporter sent minus what the HTTP layer adds on its own (Host, which botocore
takes from the URL, Content-Length, User-Agent, Accept). Clock frozen through
request.context["timestamp"] (PEERS.md item 9).

usage: /usr/bin/python3 sigv4_verify.py CAPTURED.json SERVICE REGION [N]
env: AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN (optional)
"""
import base64
import json
import os
import sys

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

NOT_GIVEN = {"host", "authorization", "x-amz-date", "x-amz-security-token", "content-length",
             "user-agent", "accept", "connection", "expect", "transfer-encoding"}


def main():
    path, service, region = sys.argv[1], sys.argv[2], sys.argv[3]
    want = int(sys.argv[4]) if len(sys.argv) > 4 else 1
    reqs = json.load(open(path))
    creds = Credentials(os.environ["AWS_ACCESS_KEY_ID"], os.environ["AWS_SECRET_ACCESS_KEY"],
                        os.environ.get("AWS_SESSION_TOKEN") or None)
    checked = 0
    for r in reqs:
        h = r["headers"]
        got = h.get("authorization")
        if not got:
            print(f"FAIL: unsigned request to {r['path']}")
            return 1
        date = h["x-amz-date"]
        scope = got.split("Credential=")[1].split(",")[0]
        akid, day, reg, svc, term = scope.split("/")
        if (akid, day, reg, svc, term) != (creds.access_key, date[:8], region, service,
                                           "aws4_request"):
            print(f"FAIL: credential scope {scope}, expected {service}/{region}")
            return 1
        if creds.token and h.get("x-amz-security-token") != creds.token:
            print("FAIL: X-Amz-Security-Token missing or wrong")
            return 1
        headers = {k: v for k, v in h.items() if k not in NOT_GIVEN}
        req = AWSRequest(method=r["method"], url=f"http://{h['host']}{r['path']}",
                         data=base64.b64decode(r["body"]), headers=headers)
        auth = SigV4Auth(creds, service, region)
        req.context["timestamp"] = date
        auth._modify_request_before_signing(req)
        canonical = auth.canonical_request(req)
        sig = auth.signature(auth.string_to_sign(req, canonical), req)
        auth._inject_signature_to_request(req, sig)
        expect = req.headers["Authorization"]
        if expect != got:
            print(f"FAIL: Authorization differs for {r['path']}\n  tycho:    {got}\n"
                  f"  botocore: {expect}\n--- botocore canonical request:\n{canonical}")
            return 1
        checked += 1
    if checked < want:
        print(f"FAIL: {checked} signed requests checked, expected at least {want}")
        return 1
    print(f"sigv4 ok: {checked} request(s) match botocore ({service}/{region})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
