"""A flood of new connections past the server's descriptor limit: tycho runs
with `ulimit -n 256` (prlimit) and two workers, a client opens FLOOD_CONNS
(default 2000) connections and holds them without sending anything. The
server must:
 - not spin: while the flood holds, its CPU stays low (a worker looping on
   accept() failing with EMFILE would burn a whole core);
 - say so in its log, a bounded number of times (not one line per attempt);
 - recover: once the flood stops, GET /health answers again within a few
   seconds and the CPU goes back to idle; SIGTERM still exits 0."""
import os
import time

import abuse
from abuse import check

LIMIT = 256
FLOOD = int(os.environ.get("FLOOD_CONNS", "2000"))
HOLD = float(os.environ.get("FLOOD_HOLD_SECONDS", "4"))
HEADER_TIMEOUT = 3


def cpu_over(srv, seconds):
    c0, t0 = srv.cpu_seconds(), time.time()
    time.sleep(seconds)
    return (srv.cpu_seconds() - c0) / (time.time() - t0)


def main():
    abuse.raise_nofile(FLOOD + 512)
    srv = abuse.server(env={"TYCHO_HEADER_TIMEOUT": HEADER_TIMEOUT}, workers=2,
                       wrapper=("prlimit", "--nofile=%d:%d" % (LIMIT, LIMIT), "--"))
    with srv:
        status, _ = abuse.health(srv.public)
        check(status == 200, "no /health before the flood: %s" % status)
        base_fds = abuse.open_fds(srv.proc.pid)
        idle_cpu = cpu_over(srv, 1.0)

        with abuse.Prober(srv.public, every=0.25, timeout=2.0) as prober:
            t_flood = time.time()
            socks = [abuse.connect_nb(srv.public) for _ in range(FLOOD)]
            time.sleep(0.5)
            fds_flood = abuse.open_fds(srv.proc.pid)
            flood_cpu = cpu_over(srv, HOLD)
            for s in socks:
                s.close()
            t_stop = time.time()
            # recovery: the first /health that answers after the flood stopped
            recovered = None
            while time.time() < t_stop + (2 * HEADER_TIMEOUT + 4) * abuse.SLOW:
                status, _ = abuse.health(srv.public, timeout=2.0)
                if status == 200:
                    recovered = time.time() - t_stop
                    break
                time.sleep(0.1)
            during = prober.summary(since=t_flood, until=t_stop)
        time.sleep(1.0)
        after_cpu = cpu_over(srv, 1.0)
        logged = [r for r in srv.records() if r.get("level") in ("warn", "error")]
        msgs = {}
        for r in logged:
            msgs[r.get("msg")] = msgs.get(r.get("msg"), 0) + 1

        print("fd flood: limit %d, %d descriptors idle, %d during a flood of %d connections"
              % (LIMIT, base_fds, fds_flood, FLOOD))
        print("server CPU: idle %.0f%%, flood held %.0f%%, after %.0f%%"
              % (idle_cpu * 100, flood_cpu * 100, after_cpu * 100))
        print("GET /health during the flood: %s, %d failed" % (abuse.fmt(during), during["failed"]))
        print("recovered %s after the flood stopped; warnings logged: %s"
              % ("%.2f s" % recovered if recovered is not None else "NEVER", msgs))
        check(fds_flood >= LIMIT - 8, "the flood did not reach the descriptor limit (%d)" % fds_flood)
        check(flood_cpu < 0.25, "the server spins while out of descriptors: %.0f%% CPU" % (flood_cpu * 100))
        check(recovered is not None, "GET /health never answered again after the flood")
        check(after_cpu < 0.1, "CPU stays at %.0f%% after the flood" % (after_cpu * 100))
        check(logged, "nothing logged about running out of descriptors")
        check(len(logged) <= 200, "%d warning lines for one flood: %s" % (len(logged), msgs))
        rc = srv.stop()
        check(rc == 0, "exit code %s" % rc)


if __name__ == "__main__":
    abuse.tycho.run_main(main)
