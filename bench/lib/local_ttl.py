"""One TTL sweep of the local AWS backend, measured (bench/local_ttl.sh).

For each build directory (tycho and tools/local_exec in it): a template
store is filled once with ITEMS items of table bench-ttl (TTL on "ttl"),
EXPIRED_PCT % of them expired ten minutes ago, the others in a day, through
that build's local_exec (so each build writes its own layout). Then RUNS
times, the builds interleaved, each on fresh copies of its template:
  cpu   tycho serve on a copy, no requests: the CPU its local backend thread
        (tycho-local) spends from "listening" until it stays still after the
        sweep (which starts 1 s after the backend); the rows left are checked.
  wait  tycho serve on another copy, GetItem calls one after the other
        through the tests/awslua routes' POST /aws for PROBE_SECONDS: the
        longest one, i.e. how long a local call waited behind the sweep.
Prints each run and the medians (min-max) per build.
"""
import http.client
import json
import os
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
ITEMS = int(os.environ.get("ITEMS", "200000"))
EXPIRED_PCT = float(os.environ.get("EXPIRED_PCT", "1"))
RUNS = int(os.environ.get("RUNS", "3"))
PROBE_SECONDS = float(os.environ.get("PROBE_SECONDS", "8"))
TABLE = "bench-ttl"
TICK = os.sysconf("SC_CLK_TCK")


def fill(build, tmpl):
    """The template store: ITEMS items through the build's local_exec."""
    now = int(time.time())
    every = max(1, round(100 / EXPIRED_PCT)) if EXPIRED_PCT > 0 else 0
    proc = subprocess.Popen(
        [os.path.join(build, "tools", "local_exec"), "--dir", tmpl, "--sync", "normal",
         "--tables", TABLE + ":pk=id/S:ttl=ttl"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    expired = 0
    lines = []
    for first in range(0, ITEMS, 25):
        reqs = []
        for i in range(first, min(first + 25, ITEMS)):
            due = every and i % every == 0
            expired += 1 if due else 0
            reqs.append({"PutRequest": {"Item": {
                "id": {"S": "item-%07d" % i},
                "ttl": {"N": str(now - 600 if due else now + 86400)},
                "user_id": {"S": "user-%d" % (i % 97)},
                "payload": {"S": "x" * 160}}}})
        lines.append(json.dumps({"target": "DynamoDB_20120810.BatchWriteItem",
                                 "body": {"RequestItems": {TABLE: reqs}}}))
    out, _ = proc.communicate("\n".join(lines) + "\n")
    bad = [ln for ln in out.splitlines() if not ln.startswith('{"status":200')]
    if proc.returncode != 0 or bad or len(out.splitlines()) != len(lines):
        sys.exit("fill failed: rc %s, %d bad answers: %s" % (proc.returncode, len(bad), bad[:1]))
    return expired


def rows(db):
    con = sqlite3.connect(db)
    try:
        return con.execute("SELECT COUNT(*) FROM ddb_items WHERE tbl = ?", (TABLE,)).fetchone()[0]
    finally:
        con.close()


class Server:
    """tycho serve on a copy of the template store."""

    def __init__(self, build, tmpl, work):
        self.data = tempfile.mkdtemp(dir=work)
        shutil.copy(os.path.join(tmpl, "local-aws.sqlite3"), self.data)
        env = {k: v for k, v in os.environ.items()
               if not k.startswith(("AWS_", "TYCHO_", "TEST_", "SQS_", "DYNAMODB_"))}
        env.update(TEST_CONSUMER="off", TYCHO_ACCESS_LOG="off", HOME=work)
        self.log = open(os.path.join(self.data, "serve.log"), "w+")
        self.proc = subprocess.Popen(
            [os.path.join(build, "tycho"), "serve", "--routes", "tests/awslua/routes",
             "--data-dir", self.data, "--listen", "127.0.0.1:0", "--admin-listen", "127.0.0.1:0",
             "--workers", "1", "--no-reload"],
            cwd=ROOT, env=env, stdout=self.log, stderr=subprocess.STDOUT)
        self.public = None
        deadline = time.time() + 20
        while time.time() < deadline and not self.public:
            self.log.seek(0)
            for line in self.log:
                if '"msg":"listening"' in line:
                    self.public = json.loads(line)["public"]
            if self.proc.poll() is not None:
                break
            time.sleep(0.02)
        if not self.public:
            self.stop()
            self.log.seek(0)
            sys.exit("tycho did not start:\n" + self.log.read())

    def local_thread_cpu(self):
        """Seconds of CPU of the tycho-local thread so far."""
        task = "/proc/%d/task" % self.proc.pid
        for tid in os.listdir(task):
            try:
                with open(os.path.join(task, tid, "comm")) as f:
                    if f.read().strip() != "tycho-local":
                        continue
                with open(os.path.join(task, tid, "stat")) as f:
                    fields = f.read().rsplit(")", 1)[1].split()
                return (int(fields[11]) + int(fields[12])) / TICK
            except OSError:
                continue
        raise RuntimeError("no tycho-local thread")

    def stop(self):
        self.proc.terminate()
        self.proc.wait(20)
        self.log.close()
        return os.path.join(self.data, "local-aws.sqlite3")


def run_cpu(build, tmpl, work, want_rows):
    s = Server(build, tmpl, work)
    started = time.time()
    base = last = s.local_thread_cpu()
    still_since = time.time()
    while time.time() - started < 120:
        time.sleep(0.05)
        cpu = s.local_thread_cpu()
        if cpu != last:
            last, still_since = cpu, time.time()
        elif time.time() - started > 2 and time.time() - still_since > 1.5:
            break
    db = s.stop()
    left = rows(db)
    if left != want_rows:
        sys.exit("after the sweep %d rows, want %d" % (left, want_rows))
    return last - base


def run_wait(build, tmpl, work):
    s = Server(build, tmpl, work)
    host, port = s.public.rsplit(":", 1)
    conn = http.client.HTTPConnection(host, int(port), timeout=60)
    body = json.dumps({"service": "dynamodb", "target": "DynamoDB_20120810.GetItem",
                       "params": {"TableName": TABLE, "Key": {"id": {"S": "item-0000001"}}}})
    longest, n = 0.0, 0
    end = time.time() + PROBE_SECONDS
    while time.time() < end:
        t0 = time.perf_counter()
        conn.request("POST", "/aws", body, {"Content-Type": "application/json"})
        res = conn.getresponse()
        answer = res.read()
        took = time.perf_counter() - t0
        if res.status != 200 or b'"ok":true' not in answer:
            sys.exit("GetItem failed: %d %s" % (res.status, answer[:200]))
        longest, n = max(longest, took), n + 1
    conn.close()
    s.stop()
    return longest, n


def med(xs):
    return "%.3f (%.3f-%.3f)" % (statistics.median(xs), min(xs), max(xs))


def main(builds):
    work = tempfile.mkdtemp(prefix="tycho-bench-ttl.")
    try:
        tmpls, results = [], {b: ([], []) for b in builds}
        for build in builds:
            tmpl = os.path.join(work, "tmpl-%d" % len(tmpls))
            os.mkdir(tmpl)
            t0 = time.time()
            expired = fill(build, tmpl)
            tmpls.append((build, tmpl, expired))
            print("%s: %d items, %d expired, filled in %.0f s" % (build, ITEMS, expired,
                                                                  time.time() - t0), flush=True)
        for r in range(RUNS):  # interleaved: A B A B ...
            for build, tmpl, expired in tmpls:
                cpus, waits = results[build]
                cpus.append(run_cpu(build, tmpl, work, ITEMS - expired))
                longest, n = run_wait(build, tmpl, work)
                waits.append(longest)
                print("  run %d, %s: sweep CPU %.3f s; longest GetItem %.3f s of %d" % (
                    r + 1, build, cpus[-1], longest, n), flush=True)
        table = [(b, med(results[b][0]), med(results[b][1])) for b in builds]
        print("\n| build | sweep CPU of the local thread, s | longest local call during it, s |")
        print("| --- | --- | --- |")
        for build, c, w in table:
            print("| %s | %s | %s |" % (build, c, w))
        print("(medians of %d runs, min-max; %d items, %g %% expired)" % (RUNS, ITEMS, EXPIRED_PCT))
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main(sys.argv[1:] or [os.path.join(ROOT, "build")])
