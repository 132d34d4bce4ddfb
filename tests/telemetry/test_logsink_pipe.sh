#!/bin/bash
# The stdout log sink never blocks its producers on a slow pipe: a pipe that
# nobody reads for a while makes it drop and count lines; once the reader
# starts, one line reports the drops and every later line arrives whole.
set -euo pipefail

BUILD=${TYCHO_BUILD:?TYCHO_BUILD not set}
TOOL=$BUILD/tools/telemetry_logflood
PY=/usr/bin/python3
[ -x "$TOOL" ] || { echo "FAIL: $TOOL not built"; exit 1; }
# shellcheck source=tests/lib/wait.sh
. "$(dirname "$0")/../lib/wait.sh"

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# CI runs this beside other tests on 2 cores: nothing here is timed by the
# wall clock alone.
THREADS=2 LINES=30000 PHASE2=2000 READER_WAIT=60 GAP_MS=7000

# Nobody reads the pipe until the producers are done with phase 1 (the tool
# says so on stderr): producers held up by the pipe would never get there,
# and the reader gives up after READER_WAIT seconds.
"$TOOL" --threads $THREADS --lines $LINES --gap-ms $GAP_MS --phase2 $PHASE2 \
    2> "$work/stats" | {
    wait_until $READER_WAIT grep -q '"phase1_done"' "$work/stats" || touch "$work/reader_gave_up"
    cat > "$work/out"
}
cat "$work/stats"

"$PY" - "$work/stats" "$work/out" $THREADS $LINES $PHASE2 $READER_WAIT "$work/reader_gave_up" <<'PY'
import json, os, sys
stats = json.loads(open(sys.argv[1]).read().strip().splitlines()[-1])
raw = open(sys.argv[2], "rb").read()
threads, lines, phase2, wait = map(int, sys.argv[3:7])
fail = []

# The producers were never held up by the pipe: phase 1 finished while
# nobody read it, its calls took a fraction of what they took when the
# reader came 3 s later, and no single call waited (the tool counts a call's
# time without the time its thread waited for a CPU).
if os.path.exists(sys.argv[7]):
    fail.append("phase 1 not over after %d s of a pipe nobody reads: producers blocked on the pipe" % wait)
if stats["phase1_calls_ms"] >= 2250:
    fail.append("phase 1's calls took %.0f ms (not counting waits for a CPU): producers blocked on the pipe"
                % stats["phase1_calls_ms"])
if stats["phase1_max_call_us"] > 250000:
    fail.append("a log call took %d us (not counting waits for a CPU)" % stats["phase1_max_call_us"])
if stats["dropped_queue_full"] <= 0:
    fail.append("nothing was dropped: the pipe never filled?")

assert raw.endswith(b"\n") or not raw, "output ends mid-line"
reports, phase1, phase2_seen, first_p2 = [], 0, {}, None
for n, line in enumerate(raw.split(b"\n")[:-1]):
    try:
        obj = json.loads(line)
    except ValueError:
        fail.append("torn or invalid line %d: %r" % (n, line[:120]))
        continue
    if obj.get("msg", "").startswith("log lines dropped"):
        reports.append((n, obj))
        continue
    if obj.get("msg") != "flood" or len(obj.get("pad", "")) != 300:
        fail.append("unexpected line %d: %r" % (n, line[:120]))
        continue
    if obj["phase"] == 1:
        phase1 += 1
    else:
        if first_p2 is None:
            first_p2 = n
        phase2_seen.setdefault(obj["thread"], []).append(obj["seq"])

if not reports:
    fail.append("no drop report line")
else:
    if first_p2 is not None and reports[0][0] > first_p2:
        fail.append("the drop report came after the phase-2 lines")
    reported = sum(o["dropped"] for _, o in reports)
    if reported != stats["dropped_total"]:
        fail.append("reports add up to %d, the sink counted %d" % (reported, stats["dropped_total"]))
# Every phase-1 line is either in the output or counted as dropped.
if phase1 + stats["dropped_total"] != threads * lines:
    fail.append("phase 1: %d written + %d dropped != %d" % (phase1, stats["dropped_total"], threads * lines))
# After the reader started, nothing is lost and order per thread holds.
for t in range(threads):
    if phase2_seen.get(t) != list(range(phase2)):
        fail.append("phase 2, thread %d: %d of %d lines, in order: %s" % (
            t, len(phase2_seen.get(t, [])), phase2, phase2_seen.get(t, [])[:5]))

print("lines: phase1 %d, phase2 %d, reports %d (%s)" % (
    phase1, sum(len(v) for v in phase2_seen.values()), len(reports),
    ", ".join(str(o["dropped"]) for _, o in reports)))
if fail:
    print("FAIL:\n  " + "\n  ".join(fail))
    sys.exit(1)
print("ok: producers never blocked; drops counted and reported; later lines intact")
PY
