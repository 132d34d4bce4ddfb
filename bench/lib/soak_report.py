"""The verdict of bench/soak_app.sh: reads the sampler's TSV, the final
/metrics scrape, wrk's summary and the receiver's counts, prints a short
summary and exits 1 when a bound is broken:

  - RSS grows after warm-up: its least-squares slope over the rows past
    WARMUP is above RSS_SLOPE_MAX_KB_MIN (kB a minute);
  - fds or threads grow after warm-up: the highest count of the last third
    of those rows is above the highest of the first third plus FD_SLACK
    (THREAD_SLACK): a slope would flag the sawtooth of connections opened
    and closed, a leak keeps raising the peaks;
  - the work per request grows: the process's CPU time per request served
    (from the rows' CPU share and request counts) is, in the last third of
    the rows after warm-up, over CPU_GROWTH_MAX times that of the first
    third (the local backend thread's is shown beside it);
  - the workflow consumer falls behind: the SQS queue's depth peaks in the
    last third above the first third's peak plus SQS_SLACK;
  - a status a route never answers in this mix, a request cut beyond the
    ones wrk leaves open when it stops, a socket error on wrk's side;
  - the server died (a row with rss_kb 0).

    soak_report.py ROWS.tsv METRICS.txt WRK.out RECEIVER.counts LOG WARMUP CONNECTIONS

LOG: the server's log lines other than info, counted by level and message.
"""
import json
import os
import re
import statistics
import sys

# (method, route pattern) -> the statuses it answers in the soak's mix
# (route "" is no route: an unknown path, a method no route has).
EXPECTED = {
    ("GET", "/"): {200},
    ("GET", "/health"): {200},  # plain and ?deep=1 (a failed check: 503, unexpected)
    ("POST", "/save-data"): {201, 400},  # valid body; bad JSON, not an object, bad user_id
    ("GET", "/workflow"): {200},
    ("POST", "/workflow"): {200},
    ("GET", "/test-telemetry"): {200},  # its simulated errors still answer 200
    ("POST", "/send-message"): {202},
    ("GET", "/receive-messages"): {200},
    ("GET", "/get-data/:id"): {200, 404},  # the item saved first; an id never saved
    ("GET", "/openapi.json"): {200},
    ("GET", ""): {404},
    ("DELETE", ""): {405},
}

SAMPLE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)\{([^}]*)\}\s+(\S+)')
LABEL = re.compile(r'(\w+)="((?:[^"\\]|\\.)*)"')


def families(path):
    out = {}
    with open(path) as f:
        for line in f:
            m = SAMPLE.match(line)
            if m:
                out.setdefault(m.group(1), []).append((dict(LABEL.findall(m.group(2))), float(m.group(3))))
    return out


def slope_per_min(ts, vs):
    """Least-squares slope of vs over ts (seconds), per minute."""
    mt, mv = statistics.fmean(ts), statistics.fmean(vs)
    den = sum((t - mt) ** 2 for t in ts)
    return 60 * sum((t - mt) * (v - mv) for t, v in zip(ts, vs)) / den if den else 0.0


def cpu_per_request(rows, col):
    """CPU ms per request served over consecutive rows (col: % of one core)."""
    cpu_ms = sum(r[col] / 100 * (r["t"] - p["t"]) * 1000 for p, r in zip(rows, rows[1:]))
    served = rows[-1]["requests"] - rows[0]["requests"]
    return cpu_ms / served if served > 0 else 0.0


def env_num(name, default):
    return float(os.environ.get(name, default))


def main():
    rows_path, metrics_path, wrk_path, recv_path, log_path, warmup, conns = sys.argv[1:8]
    warmup, conns = float(warmup), int(conns)
    rss_max = env_num("RSS_SLOPE_MAX_KB_MIN", 64)
    fd_slack, thread_slack = env_num("FD_SLACK", 8), env_num("THREAD_SLACK", 2)
    cpu_growth_max, sqs_slack = env_num("CPU_GROWTH_MAX", 1.5), env_num("SQS_SLACK", 100)
    problems, out = [], []
    say = out.append

    with open(rows_path) as f:
        head = f.readline().rstrip("\n").split("\t")
        rows = [dict(zip(head, map(float, line.split("\t")))) for line in f if line.strip()]
    if not rows:
        print("FAIL: no samples in %s" % rows_path)
        return 1
    if rows[-1].get("rss_kb", 0) == 0:
        problems.append("the server died at t=%ds" % rows[-1]["t"])
        rows = rows[:-1] or rows
    post = [r for r in rows if r["t"] >= warmup]
    if len(post) < 6:
        problems.append("only %d samples after the warm-up of %ds: run longer" % (len(post), warmup))
    first, last = rows[0], rows[-1]
    say("samples: %d over %ds, %d after the warm-up (%ds)" % (len(rows), last["t"], len(post), warmup))

    if len(post) >= 2:
        ts = [r["t"] for r in post]
        w0, wend = post[0], post[-1]
        rss_slope = slope_per_min(ts, [r["rss_kb"] for r in post])
        say("RSS: %d kB at start, %d kB at the end of the warm-up, %d kB at the end (max %d); "
            "slope after warm-up %+.1f kB/min (bound %g)"
            % (first["rss_kb"], w0["rss_kb"], wend["rss_kb"], max(r["rss_kb"] for r in post), rss_slope, rss_max))
        if rss_slope > rss_max:
            problems.append("RSS grows after warm-up: %+.1f kB/min > %g" % (rss_slope, rss_max))
        say("Lua heap (both workers): %d kB after warm-up, %d kB at the end; slope %+.1f kB/min"
            % (w0["lua_kb"], wend["lua_kb"], slope_per_min(ts, [r["lua_kb"] for r in post])))
        third = max(len(post) // 3, 1)
        for col, slack, what in (("fds", fd_slack, "fds"), ("threads", thread_slack, "threads")):
            a = max(r[col] for r in post[:third])
            b = max(r[col] for r in post[-third:])
            say("%s: %d at the end of the warm-up, %d at the end; max %d in the first third after it, %d in the "
                "last (bound +%g); slope %+.2f/min"
                % (what, w0[col], wend[col], a, b, slack, slope_per_min(ts, [r[col] for r in post])))
            if b > a + slack:
                problems.append("%s grow after warm-up: max %d in the last third > %d + %g" % (what, b, a, slack))
        say("CPU: %.0f %% of one core on average after warm-up (max %.0f %%), the local backend thread %.0f %%"
            % (statistics.fmean(r["cpu_pct"] for r in post), max(r["cpu_pct"] for r in post),
               statistics.fmean(r["local_cpu_pct"] for r in post)))
        per_req = {}
        for col in ("cpu_pct", "local_cpu_pct"):
            a, b = cpu_per_request(post[:third + 1], col), cpu_per_request(post[-third - 1:], col)
            per_req[col] = (a, b)
            say("  %s per request: %.3f ms in the first third after warm-up, %.3f ms in the last"
                % ("process CPU" if col == "cpu_pct" else "local thread CPU", a, b))
        a, b = per_req["cpu_pct"]
        if a > 0 and b > cpu_growth_max * a:
            problems.append("CPU per request grows: %.3f ms -> %.3f ms (bound x%g)" % (a, b, cpu_growth_max))
        a = max(r["sqs_depth"] for r in post[:third])
        b = max(r["sqs_depth"] for r in post[-third:])
        if b > a + sqs_slack:
            problems.append("the SQS queue's depth grows: max %d in the last third > %d + %g "
                            "(the consumer falls behind)" % (b, a, sqs_slack))
        span = wend["t"] - w0["t"]
        say("data dir: %d kB -> %d kB; DynamoDB items put: %d -> %d (grows by design: 24 h TTL)"
            % (w0["data_kb"], wend["data_kb"], w0["items_put"], wend["items_put"]))
        say("SQS depth max %d (end %d), dead-letter queue max %d; consumer processed %d, failed %d"
            % (max(r["sqs_depth"] for r in post), wend["sqs_depth"], max(r["dlq_depth"] for r in post),
               wend["consumed"], wend["consume_failed"]))
        say("telemetry queues max: spans %d, logs %d, metrics %d; requests/s after warm-up: %.0f"
            % (max(r["q_spans"] for r in rows), max(r["q_logs"] for r in rows), max(r["q_metrics"] for r in rows),
               (wend["requests"] - w0["requests"]) / span if span else 0))

    m = families(metrics_path)
    say("reloads: %s; generation %d"
        % (", ".join("%s %d" % (l["result"], v) for l, v in m.get("tycho_reloads_total", [])),
           last.get("generation", 0)))
    say("requests answered, by route and status (server side):")
    served = {}
    for labels, v in m.get("tycho_http_requests_total", []):
        key = (labels.get("method", ""), labels.get("route", ""))
        served.setdefault(key, {})[int(labels["status"])] = int(v)
    for (method, route), by in sorted(served.items()):
        ok = EXPECTED.get((method, route), set())
        line = "  %-6s %-16s %s" % (method, route or '""', " ".join("%d:%d" % kv for kv in sorted(by.items())))
        bad = {s: n for s, n in by.items() if s not in ok and n > 0}
        if bad:
            line += "   UNEXPECTED"
            problems.append("%s %s answered %s" % (method, route or '""', bad))
        say(line)
    cut = {l["reason"]: int(v) for l, v in m.get("tycho_http_requests_cut_total", []) if v > 0}
    say("requests cut: %s" % (cut or "none"))
    if sum(cut.values()) > conns:
        problems.append("%d requests cut (wrk leaves at most %d open when it stops): %s"
                        % (sum(cut.values()), conns, cut))
    say("telemetry dropped, by signal and reason (the receiver was down by design):")
    for labels, v in m.get("tycho_telemetry_dropped_total", []):
        if v > 0:
            say("  %s %s: %d" % (labels["signal"], labels["reason"], v))
    for labels, v in m.get("tycho_telemetry_exported_total", []):
        say("  exported %s: %d" % (labels["signal"], v))

    with open(wrk_path) as f:
        wrk = f.read()
    errs = re.search(r"^ERRORS\tconnect (\d+) read (\d+) write (\d+) timeout (\d+) status (\d+)", wrk, re.M)
    tot = re.search(r"^TOTAL\t(\d+)\t(\S+)", wrk, re.M)
    if not errs or not tot:
        problems.append("no summary from wrk")
    else:
        say("wrk: %s requests in %s s; socket errors connect %s read %s write %s timeout %s; non-2xx/3xx %s"
            % (tot.group(1), tot.group(2), *errs.groups()))
        if sum(int(x) for x in errs.groups()[:4]):
            problems.append("wrk socket errors: %s" % errs.group(0).split("\t", 1)[1])
        sent = dict(re.findall(r"^SENT\t(\S+)\t(\d+)", wrk, re.M))
        say("wrk sent: " + ", ".join("%s %s" % kv for kv in sorted(sent.items())))
        st = dict(re.findall(r"^STATUS\t(\d+)\t(\d+)", wrk, re.M))
        say("wrk statuses: " + ", ".join("%s %s" % kv for kv in sorted(st.items())))
    with open(recv_path) as f:
        say("OTLP/Loki receiver lives: " + "; ".join(line.strip() for line in f if line.strip()))
    by_msg = {}
    with open(log_path, errors="replace") as f:
        for line in f:
            try:
                j = json.loads(line)
                key = (j.get("level", "?"), j.get("msg", "?"))
            except ValueError:
                key = ("not JSON", line[:80].rstrip("\n"))
            by_msg[key] = by_msg.get(key, 0) + 1
    say("log lines other than info, by level and message:")
    for (level, msg), n in sorted(by_msg.items()):
        say("  %-5s %6d  %s" % (level, n, msg))

    print("\n".join(out))
    if problems:
        print("FAIL:\n  " + "\n  ".join(problems))
        return 1
    print("PASS: every bound held")
    return 0


if __name__ == "__main__":
    sys.exit(main())
