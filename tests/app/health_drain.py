"""The reference app's GET /health during a graceful shutdown: once SIGTERM
has started the drain, a request still reaching the app is answered 503
{"status": "draining"} with Connection: close, so a load balancer that
probes during the drain takes the task out. The listeners close at SIGTERM,
so the probe travels on a connection that was already open: its request
head is half sent before the signal and finished after the admin port's
/-/ready says the drain has begun. Run by test_health_drain.sh."""
import json
import os
import signal
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import tycho  # noqa: E402
from tycho import check  # noqa: E402

ROUTES = os.path.join(tycho.SRC, "routes")


def health(conn):
    conn.send(b"GET /health HTTP/1.1\r\nHost: t\r\n\r\n")
    r = conn.read_response(timeout=10)
    check(r is not None, "no response to GET /health")
    return r, json.loads(r.body)


def main():
    env = {"TYCHO_DRAIN_TIMEOUT": 10, "TYCHO_HEADER_TIMEOUT": 20, "TYCHO_ACCESS_LOG": "off"}
    with tycho.Server(env=env, routes=ROUTES, cwd=tycho.SRC) as srv:
        c = tycho.Conn(srv.public, timeout=10)
        r, body = health(c)
        check(r.status == 200 and body.get("status") == "healthy",
              "before the signal: %d %r" % (r.status, body))
        check(isinstance(body.get("generation"), int), "generation in %r" % body)

        probe = tycho.Conn(srv.public, timeout=10)
        probe.send(b"GET /health HTTP/1.1\r\nHost: t\r\n")
        time.sleep(0.2)
        srv.signal(signal.SIGTERM)
        state = srv.wait_draining(5 * tycho.SLOW)
        check(state == 503, "/-/ready never said the drain began (last %r)" % state)
        check(srv.proc.poll() is None, "tycho exited while a request head was still arriving")

        probe.send(b"\r\n")
        r = probe.read_response(timeout=10)
        check(r is not None, "the probe's connection closed without a response")
        body = json.loads(r.body)
        print("during the drain: %d %s %r" % (r.status, r.header("Connection"), body))
        check(r.status == 503, "status during the drain: %d" % r.status)
        check(body.get("status") == "draining", "body during the drain: %r" % body)
        check(isinstance(body.get("timestamp"), str) and body["timestamp"].endswith("Z"),
              "an ISO timestamp in %r" % body)
        check(r.header("Connection") == "close", "Connection: %r" % r.header("Connection"))
        check(probe.wait_closed(3), "the connection closes after the draining answer")
        rc = srv.wait(15 * tycho.SLOW)
        check(rc == 0, "exit code %r after the drain" % rc)
    print("ok: /health answers 503 draining during the drain")


if __name__ == "__main__":
    main()
