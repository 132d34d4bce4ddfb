"""Re-signs, with botocore, the AWS JSON requests that fake_aws.py logged
(what tycho actually put on the wire) and compares the Authorization
headers. Credentials are the fake's deterministic ones (ASIAFAKE<n> ->
fake-secret-<n>, fake-session-token-<n>).
usage: /usr/bin/python3 verify_wire_signatures.py BASE_URL REGION < log.json
Prints "N verified"; exits 1 on any mismatch or when nothing was checked."""
import json
import sys

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials


def main():
    base, region = sys.argv[1], sys.argv[2]
    log = json.load(sys.stdin)
    checked = bad = 0
    for r in log["requests"]:
        h = r["headers"]
        if "x-amz-target" not in h or "authorization" not in h:
            continue
        auth = h["authorization"]
        akid = auth.split("Credential=")[1].split("/")[0]
        scope = auth.split("Credential=")[1].split(",")[0].split("/")
        service = scope[3]
        n = akid[len("ASIAFAKE"):]
        creds = Credentials(akid, "fake-secret-" + n, "fake-session-token-" + n)
        signed = auth.split("SignedHeaders=")[1].split(",")[0].split(";")
        req = AWSRequest(method=r["method"], url=base + r["path"], data=r["body"].encode())
        for name in signed:
            if name not in ("x-amz-date", "x-amz-security-token"):
                req.headers[name] = h[name]
        req.context["timestamp"] = h["x-amz-date"]
        signer = SigV4Auth(creds, service, region)
        signer._modify_request_before_signing(req)
        sig = signer.signature(signer.string_to_sign(req, signer.canonical_request(req)), req)
        signer._inject_signature_to_request(req, sig)
        checked += 1
        if req.headers["Authorization"] != auth:
            bad += 1
            print(f"MISMATCH {r['path']}\n  wire:     {auth}\n  botocore: {req.headers['Authorization']}")
        if h.get("x-amz-security-token") != creds.token:
            bad += 1
            print(f"security token header missing or wrong on {r['path']}")
    print(f"{checked} verified, {bad} mismatches")
    return 1 if bad or not checked else 0


if __name__ == "__main__":
    sys.exit(main())
