#!/usr/bin/python3
"""Unit-test dashboard PromQL with `promtool test rules`.

usage: dashboard_queries.py SPEC OUT

SPEC is a promtool rule-test file (no rule_files needed) whose
promql_expr_test entries may name a dashboard query instead of an `expr`:

    variables: { route: ".*", __rate_interval: 5m }   # Grafana variables
    tests:
      - interval: 1m
        input_series: [...]
        promql_expr_test:
          - panel: tycho-service.json 3 A     # dashboard file, panel id, refId
            eval_time: 10m
            exp_samples: [...]

Dashboards are read from grafana/dashboards next to SPEC's directory
(SPEC in grafana/tests/). Each `panel` is replaced by the target's expr with
the variables substituted ($name, ${name}, [[name]]); OUT is the resulting
test file, which the caller runs with `promtool test rules OUT`.

Exit status: 0, 2 on an unknown panel, target or variable.
"""
import json
import os
import re
import sys

import yaml


def panels(dash):
    stack = list(dash.get("panels", []))
    while stack:
        p = stack.pop(0)
        yield p
        stack.extend(p.get("panels", []))


def target_expr(dashboards, ref):
    file, pid, ref_id = ref.split()
    with open(os.path.join(dashboards, file), encoding="utf-8") as f:
        dash = json.load(f)
    for p in panels(dash):
        if str(p.get("id")) != pid:
            continue
        for t in p.get("targets", []):
            if t.get("refId") == ref_id:
                return t["expr"]
    raise KeyError(f"{ref}: no such panel target")


def substitute(expr, variables, ref):
    def value(m):
        name = m.group(1) or m.group(2) or m.group(3)
        if name not in variables:
            raise KeyError(f"{ref}: variable ${name} has no value in the spec's variables")
        return str(variables[name])

    return re.sub(r"\$\{([A-Za-z_]\w*)(?::\w+)?\}|\[\[([A-Za-z_]\w*)\]\]|\$([A-Za-z_]\w*)", value, expr)


def main(argv):
    if len(argv) != 3:
        print(__doc__.strip(), file=sys.stderr)
        return 2
    spec_path, out_path = argv[1], argv[2]
    with open(spec_path, encoding="utf-8") as f:
        spec = yaml.safe_load(f)
    dashboards = os.path.join(os.path.dirname(os.path.abspath(spec_path)), "..", "dashboards")
    variables = spec.pop("variables", {}) or {}
    try:
        for test in spec.get("tests", []):
            for t in test.get("promql_expr_test", []):
                ref = t.pop("panel", None)
                if ref is not None:
                    t["expr"] = substitute(target_expr(dashboards, ref), variables, ref)
    except (OSError, KeyError, ValueError) as e:
        print(f"dashboard_queries: {spec_path}: {e}", file=sys.stderr)
        return 2
    spec.setdefault("rule_files", [])
    with open(out_path, "w", encoding="utf-8") as f:
        yaml.safe_dump(spec, f, sort_keys=False)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
