#!/usr/bin/python3
"""Check the dashboards' Loki queries against the streams tycho pushed.

usage: check_loki_selectors.py CAPTURED DASHBOARD_DIR

CAPTURED is what tests/exporters/receiver.js captured of tycho's Loki
pushes in the JSON format (TYCHO_LOKI_FORMAT=json): a list of requests with
a base64 body. DASHBOARD_DIR holds the Grafana dashboards (JSON).

For every Loki target (a target or panel whose data source is of type
loki), the stream selector `{...}` must
  - name only labels that a pushed stream carries;
  - match at least one pushed stream, its variables taking their "All"
    value (allValue, else each option);
and a custom variable used in the selector must offer every value of its
label that was pushed (a log level the dashboard cannot pick is a level its
users do not see when they filter).

Exit status: 0, 1 when a check fails (each failure listed), 2 on a usage or
parse error.
"""
import base64
import json
import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from dashboard_queries import panels  # noqa: E402

MATCHER = re.compile(r'\s*([A-Za-z_]\w*)\s*(=~|!~|!=|=)\s*"((?:[^"\\]|\\.)*)"\s*(?:,|$)')
VARIABLE = re.compile(r"\$\{([A-Za-z_]\w*)(?::\w+)?\}|\[\[([A-Za-z_]\w*)\]\]|\$([A-Za-z_]\w*)")


def pushed_streams(path):
    """The label sets of every stream in the captured pushes."""
    with open(path, encoding="utf-8") as f:
        requests = json.load(f)
    streams = []
    for r in requests:
        body = json.loads(base64.b64decode(r["body"]))
        for s in body.get("streams", []):
            if s["stream"] not in streams:
                streams.append(s["stream"])
    return streams


def loki_targets(dash):
    """(location, expr) of every Loki target of a dashboard."""
    for p in panels(dash):
        for t in p.get("targets", []):
            ds = t.get("datasource") or p.get("datasource") or {}
            if isinstance(ds, dict) and ds.get("type") == "loki" and t.get("expr"):
                yield f"panel {p.get('id')} \"{p.get('title', '')}\" target {t.get('refId', '?')}", t["expr"]


def selector(expr):
    """The matchers (name, op, value) of the query's stream selector."""
    m = re.match(r"\s*\{([^{}]*)\}", expr)
    if not m:
        raise ValueError(f"no stream selector at the start of {expr!r}")
    body, out, pos = m.group(1), [], 0
    while pos < len(body):
        mm = MATCHER.match(body, pos)
        if not mm:
            raise ValueError(f"cannot read the matcher at {body[pos:]!r}")
        out.append((mm.group(1), mm.group(2), mm.group(3).encode().decode("unicode_escape")))
        pos = mm.end()
    return out


def variable_values(var):
    """The values a variable stands for when "All" is picked."""
    if var.get("includeAll") and var.get("allValue"):
        return [var["allValue"]]
    return [o.strip() for o in str(var.get("query", "")).split(",") if o.strip()]


def matches(stream, matchers):
    for name, op, value in matchers:
        v = stream.get(name, "")
        if op == "=" and v != value or op == "!=" and v == value:
            return False
        if op in ("=~", "!~") and bool(re.fullmatch(value, v)) != (op == "=~"):
            return False
    return True


def check(streams, dashboards):
    labels = {k for s in streams for k in s}
    problems, checked = [], 0
    for path in sorted(os.listdir(dashboards)):
        if not path.endswith(".json"):
            continue
        with open(os.path.join(dashboards, path), encoding="utf-8") as f:
            dash = json.load(f)
        variables = {v["name"]: v for v in dash.get("templating", {}).get("list", [])}
        for where, expr in loki_targets(dash):
            checked += 1
            where = f"{path}: {where}"
            raw = selector(expr)
            used = {}
            for name, _, value in raw:
                if name not in labels:
                    problems.append(f"{where}: label {name!r} is on no pushed stream (pushed: {sorted(labels)})")
                for m in VARIABLE.finditer(value):
                    used[m.group(1) or m.group(2) or m.group(3)] = name
            for var, label in used.items():
                if var not in variables:
                    problems.append(f"{where}: ${var} is not a dashboard variable")
                    continue
                v = variables[var]
                if v.get("type") == "custom":
                    offered = {o.strip() for o in str(v.get("query", "")).split(",")}
                    for value in sorted({s[label] for s in streams if label in s} - offered):
                        problems.append(f"{where}: ${var} does not offer {label}={value!r}, which tycho pushes")
            def all_value(m):
                return (variable_values(variables.get(m.group(1) or m.group(2) or m.group(3), {})) or [""])[0]

            expanded = [(n, op, VARIABLE.sub(all_value, value)) for n, op, value in raw]
            if not any(matches(s, expanded) for s in streams):
                problems.append(f"{where}: {expr!r} selects none of the pushed streams: {streams}")
    if not checked:
        problems.append(f"{dashboards}: no Loki query found")
    return problems, checked


def main(argv):
    if len(argv) != 3:
        print(__doc__.strip(), file=sys.stderr)
        return 2
    try:
        streams = pushed_streams(argv[1])
        problems, checked = check(streams, argv[2])
    except (OSError, ValueError, KeyError) as e:
        print(f"check_loki_selectors: {e}", file=sys.stderr)
        return 2
    if not streams:
        problems.append(f"{argv[1]}: no stream was pushed")
    for p in problems:
        print("  " + p)
    if problems:
        return 1
    print(f"check_loki_selectors: ok, {checked} Loki queries select streams tycho pushes: {streams}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
