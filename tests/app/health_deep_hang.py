"""The reference app's GET /health?deep=1 when a dependency hangs: SQS is a
socket that accepts connections and never answers, DynamoDB a port that
refuses them. Each check has its own short deadline and no retry, so the
answer is a 503 within seconds that reports every check — the hung ones as
"timeout after 2s", the refused one at once — instead of the handler
timeout's 504 without checks. Run by test_health_deep_hang.sh."""
import json
import os
import socket
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import tycho  # noqa: E402
from tycho import check  # noqa: E402

ROUTES = os.path.join(tycho.SRC, "routes")


def hanging_listener():
    """A socket that accepts (the kernel does, from its backlog) and never answers."""
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    s.listen(64)
    return s


def main():
    hang = hanging_listener()
    sqs = "http://127.0.0.1:%d" % hang.getsockname()[1]
    env = {
        "TYCHO_AWS_BACKEND": "aws", "AWS_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": "AKIDEXAMPLE", "AWS_SECRET_ACCESS_KEY": "fake-secret",
        "AWS_ENDPOINT_URL_SQS": sqs,
        "AWS_ENDPOINT_URL_DYNAMODB": "http://127.0.0.1:%d" % tycho.free_port(),
        "SQS_MESSAGE_QUEUE_URL": sqs + "/000000000000/tycho-messages",
        "SQS_CONSUMER": "off", "TYCHO_ACCESS_LOG": "off",
    }
    try:
        with tycho.Server(env=env, routes=ROUTES, cwd=tycho.SRC) as srv:
            t0 = time.monotonic()
            r = tycho.request(srv.public, path="/health?deep=1", timeout=40)
            took = time.monotonic() - t0
            print("%d after %.1fs: %s" % (r.status, took, r.body.decode()))
            body = json.loads(r.body)
            check(r.status == 503, "status %d (expected 503, not the handler timeout's 504)" % r.status)
            # two 2 s timeouts side by side (tycho.all), not one after the other
            check(took < 3.5 * tycho.SLOW, "took %.1fs: the checks are not bounded, or ran in turn" % took)
            c = body.get("checks") or {}
            check(set(c) == {"queue", "dead_letter_queue", "table"}, "checks %r" % c)
            for name in ("queue", "dead_letter_queue"):
                check(c[name]["status"] == "error" and c[name]["message"] == "timeout after 2s",
                      "%s: %r" % (name, c[name]))
                check(c[name]["duration_seconds"] < 3 * tycho.SLOW,
                      "%s: one attempt of 2 s, not retried: %r" % (name, c[name]))
            table = c["table"]
            check(table["status"] == "error" and table["error"] == "TransportError", "table: %r" % table)
            check(table["duration_seconds"] < 0.5 * tycho.SLOW,
                  "table: a refused connection fails at once, without retries: %r" % table)
    finally:
        hang.close()


if __name__ == "__main__":
    tycho.run_main(main)
