"""An SQS queue with a backlog in the local AWS backend, measured
(bench/local_sqs_backlog.sh).

For each build directory (tools/local_exec in it), on a fresh store: one
queue filled with MESSAGES messages (SendMessageBatch, 10 a call), then
  receive  RECEIVES ReceiveMessage calls of 10 messages each (visibility
           600 s, so the messages taken stay in flight ahead of the rest):
           the median and the longest, in ms, round trip through local_exec;
  attrs    GetQueueAttributes ["All"] RECEIVES times: the median;
  sweep    EXPIRED_PCT % as many messages, sent at the start to a second
           queue with a 60 s retention, have expired 61 s later, when one
           whole housekeeping sweep runs: its steps and its longest step
           (builds whose local_exec has no {"sweep"} line print n/a).
The store is filled with TYCHO_LOCAL_SYNC=normal (fast), then measured
with full, tycho serve's default (an fsync a write).
Each build measured RUNS times, the builds interleaved; medians (min-max).
"""
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

MESSAGES = int(os.environ.get("MESSAGES", "100000"))
RECEIVES = int(os.environ.get("RECEIVES", "20"))
EXPIRED_PCT = float(os.environ.get("EXPIRED_PCT", "10"))
RUNS = int(os.environ.get("RUNS", "3"))
NOW_MS = 1700000000000


class Exec:
    """One local_exec on a store directory, with a fixed clock."""

    def __init__(self, build, store, sync, now_ms=NOW_MS):
        self.proc = subprocess.Popen(
            [os.path.join(build, "tools", "local_exec"), "--dir", store, "--sync", sync,
             "--now-ms", str(now_ms)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, bufsize=1)

    def line(self, obj):
        self.proc.stdin.write(json.dumps(obj) + "\n")
        self.proc.stdin.flush()
        out = self.proc.stdout.readline()
        if not out:
            sys.exit("local_exec ended early (its stderr is above)")
        return json.loads(out)

    def call(self, op, body):
        r = self.line({"target": "AmazonSQS." + op, "body": body})
        if r.get("status") != 200:
            sys.exit("%s: %s" % (op, json.dumps(r)))
        return r["body"]

    def timed(self, op, body):
        t = time.perf_counter()
        body = self.call(op, body)
        return (time.perf_counter() - t) * 1000, body

    def sweep(self):
        """A whole sweep's figures; {} when this local_exec has no sweep line
        (it says so on stderr and answers the ListQueues after it)."""
        self.proc.stdin.write(json.dumps({"sweep": True}) + "\n")
        r = self.line({"target": "AmazonSQS.ListQueues", "body": {}})
        if "status" in r:
            return {}
        self.proc.stdout.readline()  # the ListQueues answer
        return r

    def close(self):
        self.proc.stdin.close()
        self.proc.wait()


def fill(ex, url, n, prefix):
    for first in range(0, n, 10):
        ex.call("SendMessageBatch", {"QueueUrl": url, "Entries": [
            {"Id": str(i), "MessageBody": "%s-%07d %s" % (prefix, first + i, "x" * 120)}
            for i in range(min(10, n - first))]})


def run_once(build):
    store = tempfile.mkdtemp(prefix="tycho-sqs-backlog-")
    try:
        ex = Exec(build, store, "normal")
        url = ex.call("CreateQueue", {"QueueName": "backlog"})["QueueUrl"]
        old = ex.call("CreateQueue", {"QueueName": "short", "Attributes": {
            "MessageRetentionPeriod": "60"}})["QueueUrl"]
        fill(ex, url, MESSAGES, "m")
        fill(ex, old, int(MESSAGES * EXPIRED_PCT / 100), "old")
        ex.close()
        ex = Exec(build, store, "full")  # as tycho serve writes by default
        recv = []
        for _ in range(RECEIVES):
            ms, body = ex.timed("ReceiveMessage", {"QueueUrl": url, "MaxNumberOfMessages": 10,
                                                   "VisibilityTimeout": 600})
            if len(body.get("Messages", [])) != 10:
                sys.exit("a receive got %d messages" % len(body.get("Messages", [])))
            recv.append(ms)
        attrs = [ex.timed("GetQueueAttributes", {"QueueUrl": url,
                                                 "AttributeNames": ["All"]})[0]
                 for _ in range(RECEIVES)]
        ex.close()
        ex = Exec(build, store, "full", NOW_MS + 61000)
        sw = ex.sweep()
        ex.close()
        if "error" in sw:
            sys.exit("sweep: " + sw["error"])
        return {"recv_med": statistics.median(recv), "recv_max": max(recv),
                "attrs_med": statistics.median(attrs),
                "sweep_steps": sw.get("steps"), "sweep_max": sw.get("max_step_ms")}
    finally:
        shutil.rmtree(store, ignore_errors=True)


def fmt(vals):
    vals = [v for v in vals if v is not None]
    if not vals:
        return "n/a"
    return "%.2f (%.2f-%.2f)" % (statistics.median(vals), min(vals), max(vals))


def main(builds):
    print("%d messages in one queue, %d receives of 10, %.0f %% as many expired in another; "
          "%d runs" % (MESSAGES, RECEIVES, EXPIRED_PCT, RUNS))
    res = {b: [] for b in builds}
    for run in range(RUNS):
        for b in builds:
            r = run_once(b)
            res[b].append(r)
            print("  %s run %d: receive median %.2f ms, longest %.2f; attributes %.2f ms; "
                  "sweep %s steps, longest step %s ms" % (
                      b, run + 1, r["recv_med"], r["recv_max"], r["attrs_med"],
                      r["sweep_steps"] if r["sweep_steps"] is not None else "n/a",
                      "%.2f" % r["sweep_max"] if r["sweep_max"] is not None else "n/a"),
                  flush=True)
    print("| build | receive ms, median | receive ms, longest | attributes ms | "
          "sweep steps | longest sweep step ms |")
    print("|---|---|---|---|---|---|")
    for b in builds:
        rs = res[b]
        print("| %s | %s | %s | %s | %s | %s |" % (
            b, fmt([r["recv_med"] for r in rs]), fmt([r["recv_max"] for r in rs]),
            fmt([r["attrs_med"] for r in rs]), fmt([r["sweep_steps"] for r in rs]),
            fmt([r["sweep_max"] for r in rs])))


if __name__ == "__main__":
    main(sys.argv[1:])
