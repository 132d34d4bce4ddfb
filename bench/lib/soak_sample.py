"""The sampler of bench/soak_app.sh: every INTERVAL seconds, one TSV row of
what should stay bounded in a long-running tycho, until the process exits
or the stop file appears.

    soak_sample.py PID ADMIN_URL DATA_DIR OUT.tsv INTERVAL STOP_FILE

Columns (see COLUMNS): the process's RSS (kB), open fds and threads from
/proc, its CPU share since the previous row (% of one core) and that of its
local backend thread (tycho-local, where SQLite runs); from the admin
/metrics: the Lua heap, open connections, requests answered and cut, the
telemetry queues and drops per signal, what the exporters sent, the SQS
depths and the consumer's counts, the route generation, the DynamoDB
PutItem successes (the table's item count: it grows, items live 24 h); the
local backend's data directory size (kB). Exits 0 when stopped, 3 when the
process went away first (the last row then has rss_kb = 0)."""
import os
import re
import sys
import time
import urllib.request

COLUMNS = [
    "t", "rss_kb", "fds", "threads", "cpu_pct", "local_cpu_pct", "lua_kb", "conns_open",
    "requests", "cut", "q_spans", "q_logs", "q_metrics",
    "drop_spans", "drop_logs", "drop_metrics",
    "sent_spans", "sent_logs", "sent_metrics",
    "sqs_depth", "dlq_depth", "consumed", "consume_failed",
    "generation", "items_put", "data_kb",
]

SAMPLE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})?\s+(\S+)')


def metrics(url):
    """{name: [(labels-text, value)]} of a Prometheus text page."""
    out = {}
    with urllib.request.urlopen(url + "/metrics", timeout=5) as r:
        for line in r.read().decode().splitlines():
            m = SAMPLE.match(line)
            if m:
                out.setdefault(m.group(1), []).append((m.group(2) or "", float(m.group(3))))
    return out


def total(m, name, where=""):
    """The sum of a family's samples whose labels contain every `where` part."""
    parts = [p for p in where.split(",") if p]
    return sum(v for labels, v in m.get(name, []) if all(p in labels for p in parts))


def ticks(stat_path):
    with open(stat_path) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])  # utime + stime


def thread_ticks(pid, name):
    """CPU ticks of the process's threads called name (0 when none)."""
    n = 0
    for tid in os.listdir("/proc/%d/task" % pid):
        try:
            with open("/proc/%d/task/%s/comm" % (pid, tid)) as f:
                if f.read().strip() == name:
                    n += ticks("/proc/%d/task/%s/stat" % (pid, tid))
        except OSError:
            pass
    return n


def proc(pid):
    """(rss kB, fds, threads, cpu ticks, local thread ticks) of a live process, or None."""
    try:
        with open("/proc/%d/status" % pid) as f:
            st = dict(line.split(":", 1) for line in f if ":" in line)
        if st.get("State", "").strip().startswith("Z"):
            return None
        return (int(st["VmRSS"].split()[0]), len(os.listdir("/proc/%d/fd" % pid)),
                int(st["Threads"]), ticks("/proc/%d/stat" % pid), thread_ticks(pid, "tycho-local"))
    except (OSError, KeyError, IndexError, ValueError):
        return None


def dir_kb(path):
    n = 0
    for root, _, files in os.walk(path):
        for f in files:
            try:
                n += os.stat(os.path.join(root, f)).st_blocks // 2
            except OSError:
                pass
    return n


def row(pid, admin, data, t0, prev):
    p = proc(pid)
    if p is None:
        return None, prev
    rss, fds, threads, cpu_ticks, local_ticks = p
    now = time.monotonic()
    hz = os.sysconf("SC_CLK_TCK")
    share = lambda t, i: 100.0 * (t - prev[i]) / hz / (now - prev[0]) if prev else 0.0
    cpu, local_cpu = share(cpu_ticks, 1), share(local_ticks, 2)
    m = metrics(admin)
    sig = lambda name, s: total(m, name, 'signal="%s"' % s)
    r = [round(now - t0), rss, fds, threads, round(cpu, 1), round(local_cpu, 1),
         round(total(m, "tycho_lua_memory_bytes") / 1024),
         total(m, "tycho_http_connections_open"),
         total(m, "tycho_http_requests_total"), total(m, "tycho_http_requests_cut_total"),
         sig("tycho_telemetry_queue_depth", "spans"), sig("tycho_telemetry_queue_depth", "logs"),
         sig("tycho_telemetry_queue_depth", "metrics"),
         sig("tycho_telemetry_dropped_total", "spans"), sig("tycho_telemetry_dropped_total", "logs"),
         sig("tycho_telemetry_dropped_total", "metrics"),
         sig("tycho_telemetry_exported_total", "spans"), sig("tycho_telemetry_exported_total", "logs"),
         sig("tycho_telemetry_exported_total", "metrics"),
         total(m, "tycho_sqs_queue_depth", 'queue="tycho-messages"'),
         total(m, "tycho_sqs_queue_depth", 'queue="tycho-messages-dlq"'),
         total(m, "tycho_sqs_consumer_processed_total"), total(m, "tycho_sqs_consumer_failed_total"),
         total(m, "tycho_reload_generation"),
         total(m, "dynamodb_operations_total", 'operation="PutItem",status="success"'),
         dir_kb(data)]
    return [int(v) if isinstance(v, float) and v.is_integer() else v for v in r], (now, cpu_ticks, local_ticks)


def main():
    pid, admin, data, out, interval, stop = sys.argv[1:7]
    pid, interval = int(pid), float(interval)
    t0, prev = time.monotonic(), None
    with open(out, "w") as f:
        f.write("\t".join(COLUMNS) + "\n")
        while not os.path.exists(stop):
            due = time.monotonic() + interval
            try:
                r, prev = row(pid, admin, data, t0, prev)
            except OSError as e:  # the admin listener did not answer: say so, try again
                print("soak_sample: %s" % e, file=sys.stderr)
                r = []
            if r is None:
                f.write("\t".join([str(round(time.monotonic() - t0)), "0"]) + "\n")
                return 3
            if r:
                f.write("\t".join(str(v) for v in r) + "\n")
                f.flush()
            while time.monotonic() < due and not os.path.exists(stop):
                time.sleep(0.2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
