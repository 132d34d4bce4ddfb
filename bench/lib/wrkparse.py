#!/usr/bin/python3
"""Print "req/s p50_ms p99_ms errors" from one `wrk --latency` output file.

errors = socket errors (connect, read, write, timeout) + non-2xx/3xx answers.
Exits 1 when the file holds no result (wrk failed to run).
"""
import re
import sys


def ms(s):  # wrk prints 512.00us, 1.20ms, 2.00s, 1.00m
    for unit, f in (("us", 1e-3), ("ms", 1.0), ("s", 1e3), ("m", 60e3)):
        if s.endswith(unit):
            return float(s[: -len(unit)]) * f
    return float(s)


text = open(sys.argv[1]).read()
rps = re.search(r"^Requests/sec:\s+([\d.]+)", text, re.M)
p50 = re.search(r"^\s+50%\s+(\S+)", text, re.M)
p99 = re.search(r"^\s+99%\s+(\S+)", text, re.M)
if not (rps and p50 and p99):
    sys.exit(1)
errors = 0
sock = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", text)
if sock:
    errors += sum(int(x) for x in sock.groups())
non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", text)
if non2xx:
    errors += int(non2xx.group(1))
print("%s %.4f %.4f %d" % (rps.group(1), ms(p50.group(1)), ms(p99.group(1)), errors))
