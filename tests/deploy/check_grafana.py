#!/usr/bin/python3
"""Static checks of grafana/: provisioning files and dashboards are loadable
by Grafana and consistent with each other, and the images copy them where
the provisioning points.

usage: check_grafana.py [GRAFANA_DIR]     (default: <repo>/grafana)

Checks:
  datasources   apiVersion 1; every data source has a unique name and uid and
                a type; at most one default; derived-field links point at an
                existing uid.
  dashboards    each file is valid JSON with a uid (unique across files, at
                most 40 chars of [A-Za-z0-9_-]), a unique title, an integer
                schemaVersion >= 36, unique panel ids, gridPos on every panel;
                every data-source reference names a provisioned uid of the same
                type, or a data-source variable whose type has a provisioned
                data source; every ${var} used in a query is defined.
  provider      the dashboard provider's path is where grafana/Dockerfile
                copies dashboards/, and the datasource/provider files are
                copied to GF_PATHS_PROVISIONING.
  plugin        the Dockerfile installs grafana-x-ray-datasource at a pinned
                x.y.z version (literal, or an ARG with an x.y.z default).
  loki          loki/loki.yaml: TSDB schema v13 on S3, retention enabled with
                a delete-request store, paths under the EFS mount, and the
                Dockerfile runs it with -config.expand-env=true.
Exit 0 when all pass, 1 with one line per problem otherwise.
"""
import json
import os
import re
import sys

import yaml

BUILTIN_VARS = {"__rate_interval", "__interval", "__range", "__interval_ms", "__range_s", "__range_ms",
                "__from", "__to", "__dashboard", "__org", "__user", "__all", "timeFilter", "__timeFilter"}
BUILTIN_DS_UIDS = {"-- Grafana --", "-- Mixed --", "-- Dashboard --", "grafana"}


class Checker:
    def __init__(self, root):
        self.root = root
        self.problems = []

    def fail(self, where, msg):
        self.problems.append(f"{os.path.relpath(where, os.path.dirname(self.root))}: {msg}")

    # ---------------------------------------------------------------- datasources
    def datasources(self):
        path = os.path.join(self.root, "provisioning", "datasources", "datasources.yaml")
        with open(path, encoding="utf-8") as f:
            doc = yaml.safe_load(f)
        if doc.get("apiVersion") != 1:
            self.fail(path, "apiVersion must be 1")
        by_uid, names, defaults = {}, set(), 0
        for ds in doc.get("datasources", []):
            for key in ("name", "uid", "type"):
                if not ds.get(key):
                    self.fail(path, f"data source without {key}: {ds}")
            if ds.get("uid") in by_uid:
                self.fail(path, f"duplicate uid {ds['uid']}")
            if ds.get("name") in names:
                self.fail(path, f"duplicate name {ds['name']}")
            by_uid[ds.get("uid")] = ds.get("type")
            names.add(ds.get("name"))
            defaults += bool(ds.get("isDefault"))
        if defaults > 1:
            self.fail(path, "more than one default data source")
        for ds in doc.get("datasources", []):
            for field in (ds.get("jsonData") or {}).get("derivedFields", []) or []:
                if field.get("datasourceUid") and field["datasourceUid"] not in by_uid:
                    self.fail(path, f"{ds['name']}: derived field {field.get('name')} links to unknown uid {field['datasourceUid']}")
                try:
                    re.compile(field.get("matcherRegex", ""))
                except re.error as e:
                    self.fail(path, f"{ds['name']}: derived field regex: {e}")
                if by_uid.get(field.get("datasourceUid")) == "grafana-x-ray-datasource" \
                        and "sampled" not in str(field.get("urlDisplayLabel", "")).lower():
                    # tycho logs a trace id on every request but records only the sampled ones
                    # (OTEL_TRACES_SAMPLER_ARG, 10 % on AWS): the link must not promise a trace
                    self.fail(path, f"{ds['name']}: derived field {field.get('name')} links to X-Ray but its "
                                    "urlDisplayLabel does not say that only sampled requests have a trace")
                if "${" in field.get("url", "").replace("$${", ""):
                    self.fail(path, f"{ds['name']}: derived field url must escape $ as $$ (Grafana expands ${{...}} from the environment)")
        return by_uid

    # ---------------------------------------------------------------- dashboards
    def dashboards(self, ds_types):
        ddir = os.path.join(self.root, "dashboards")
        files = sorted(f for f in os.listdir(ddir) if f.endswith(".json"))
        if not files:
            self.fail(ddir, "no dashboards")
        uids, titles = {}, {}
        for name in files:
            path = os.path.join(ddir, name)
            try:
                with open(path, encoding="utf-8") as f:
                    dash = json.load(f)
            except ValueError as e:
                self.fail(path, f"invalid JSON: {e}")
                continue
            uid = dash.get("uid")
            if not isinstance(uid, str) or not re.fullmatch(r"[A-Za-z0-9_-]{1,40}", uid):
                self.fail(path, f"uid must be 1-40 chars of [A-Za-z0-9_-], got {uid!r}")
            elif uid in uids:
                self.fail(path, f"uid {uid} also used by {uids[uid]}")
            uids[uid] = name
            title = dash.get("title")
            if not title:
                self.fail(path, "no title")
            elif title in titles:
                self.fail(path, f"title {title!r} also used by {titles[title]}")
            titles[title] = name
            sv = dash.get("schemaVersion")
            if not isinstance(sv, int) or sv < 36:
                self.fail(path, f"schemaVersion must be an integer >= 36, got {sv!r}")
            if "id" in dash and dash["id"] is not None:
                self.fail(path, "provisioned dashboards must not carry a numeric id (set it to null or drop it)")
            self.dashboard_body(path, dash, ds_types)

    def dashboard_body(self, path, dash, ds_types):
        variables = {}
        for v in dash.get("templating", {}).get("list", []):
            if not v.get("name"):
                self.fail(path, f"variable without name: {v}")
                continue
            variables[v["name"]] = v
            if v.get("type") == "datasource":
                if v.get("query") not in ds_types.values():
                    self.fail(path, f"variable {v['name']}: no provisioned data source of type {v.get('query')!r}")
                cur = (v.get("current") or {}).get("value")
                if cur and cur not in ds_types:
                    self.fail(path, f"variable {v['name']}: default {cur!r} is not a provisioned uid")
                elif cur and ds_types[cur] != v.get("query"):
                    self.fail(path, f"variable {v['name']}: default {cur!r} is of type {ds_types[cur]}, not {v.get('query')}")

        def ref_type(ds, where):
            if ds is None:
                return None
            if isinstance(ds, str):
                self.fail(path, f"{where}: data source given by name {ds!r}; use {{type, uid}}")
                return None
            uid, typ = ds.get("uid"), ds.get("type")
            if uid in BUILTIN_DS_UIDS:
                return typ
            m = re.fullmatch(r"\$\{?([A-Za-z_][A-Za-z0-9_]*)\}?", uid or "")
            if m:
                var = variables.get(m.group(1))
                if not var or var.get("type") != "datasource":
                    self.fail(path, f"{where}: data source variable ${m.group(1)} is not defined")
                    return None
                if typ and typ != var.get("query"):
                    self.fail(path, f"{where}: type {typ} but variable ${m.group(1)} selects {var.get('query')}")
                return var.get("query")
            if uid not in ds_types:
                self.fail(path, f"{where}: data source uid {uid!r} is not provisioned")
                return None
            if typ and typ != ds_types[uid]:
                self.fail(path, f"{where}: uid {uid} is of type {ds_types[uid]}, not {typ}")
            return ds_types[uid]

        def check_vars_used(text, where):
            for m in re.finditer(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::[a-z]+)?\}|\$([A-Za-z_][A-Za-z0-9_]*)", text):
                name = m.group(1) or m.group(2)
                if name not in variables and name not in BUILTIN_VARS:
                    self.fail(path, f"{where}: uses undefined variable ${name}")

        for name, v in variables.items():
            if v.get("type") == "query":
                ref_type(v.get("datasource"), f"variable {name}")
                q = v.get("query")
                check_vars_used(q.get("query", "") if isinstance(q, dict) else str(q or ""), f"variable {name}")

        ids = set()

        def walk(panels):
            for p in panels:
                yield p
                yield from walk(p.get("panels", []))

        for p in walk(dash.get("panels", [])):
            where = f"panel {p.get('id')} {p.get('title', '')!r}"
            if not isinstance(p.get("id"), int):
                self.fail(path, f"{where}: panel id must be an integer")
            elif p["id"] in ids:
                self.fail(path, f"{where}: duplicate panel id")
            ids.add(p.get("id"))
            g = p.get("gridPos") or {}
            if not all(isinstance(g.get(k), int) for k in ("h", "w", "x", "y")) or g.get("x", 0) + g.get("w", 0) > 24:
                self.fail(path, f"{where}: bad gridPos {g}")
            if p.get("type") == "row":
                continue
            if not p.get("targets"):
                self.fail(path, f"{where}: no targets")
            ref_type(p.get("datasource"), where)
            for t in p.get("targets", []):
                ref_type(t.get("datasource", p.get("datasource")), f"{where} target {t.get('refId')}")
                if not t.get("expr"):
                    self.fail(path, f"{where} target {t.get('refId')}: empty expr")
                check_vars_used(t.get("expr", ""), f"{where} target {t.get('refId')}")

    # ---------------------------------------------------------------- image + provider
    def image(self):
        dockerfile = os.path.join(self.root, "Dockerfile")
        with open(dockerfile, encoding="utf-8") as f:
            text = f.read()
        copies = dict((src.rstrip("/"), dst.rstrip("/")) for src, dst in re.findall(r"^COPY\s+(\S+)\s+(\S+)\s*$", text, re.M))
        for src in copies:
            if not os.path.exists(os.path.join(self.root, src)):
                self.fail(dockerfile, f"COPY source {src} does not exist")
        m = re.search(r"GF_PATHS_PROVISIONING=(\S+)", text)
        prov = m.group(1) if m else "/etc/grafana/provisioning"
        if copies.get("provisioning") != prov:
            self.fail(dockerfile, f"provisioning/ must be copied to GF_PATHS_PROVISIONING ({prov})")
        path = os.path.join(self.root, "provisioning", "dashboards", "tycho.yaml")
        with open(path, encoding="utf-8") as f:
            doc = yaml.safe_load(f)
        for prov_ in doc.get("providers", []):
            want = (prov_.get("options") or {}).get("path", "").rstrip("/")
            if copies.get("dashboards") != want:
                self.fail(path, f"provider {prov_.get('name')} reads {want}, but the Dockerfile copies dashboards/ to {copies.get('dashboards')}")
        self.plugin_pinned(dockerfile, text, "grafana-x-ray-datasource")

    def plugin_pinned(self, dockerfile, text, plugin):
        """`grafana cli plugins install PLUGIN VERSION`, VERSION x.y.z or an ARG whose default is one."""
        m = re.search(rf"plugins install {plugin}(?:[ \t]+(\S+))?", text)
        if not m:
            self.fail(dockerfile, f"the plugin {plugin} is not installed (grafana cli plugins install)")
            return
        version = (m.group(1) or "").strip("\"'")
        arg = re.fullmatch(r"\$\{?(\w+)\}?", version)
        if arg:
            default = re.search(rf"^ARG\s+{arg.group(1)}=(\S+)\s*$", text, re.M)
            version = default.group(1) if default else ""
        if not re.fullmatch(r"\d+\.\d+\.\d+", version):
            self.fail(dockerfile, f"the plugin {plugin} is installed without a pinned x.y.z version "
                                  "(plugins install <id> <version>): each build could get another release")

    # ---------------------------------------------------------------- loki
    def loki(self):
        path = os.path.join(self.root, "loki", "loki.yaml")
        with open(path, encoding="utf-8") as f:
            cfg = yaml.safe_load(f)
        configs = cfg.get("schema_config", {}).get("configs", [])
        if not configs:
            self.fail(path, "no schema_config")
        latest = configs[-1] if configs else {}
        if (latest.get("store"), latest.get("schema"), latest.get("object_store")) != ("tsdb", "v13", "s3"):
            self.fail(path, "the current schema must be store tsdb, schema v13, object_store s3")
        s3 = cfg.get("common", {}).get("storage", {}).get("s3", {})
        if "${LOKI_S3_BUCKET}" not in str(s3.get("bucketnames")):
            self.fail(path, "common.storage.s3.bucketnames must come from ${LOKI_S3_BUCKET} (set by the task definition)")
        comp = cfg.get("compactor", {})
        if not comp.get("retention_enabled") or not comp.get("delete_request_store"):
            self.fail(path, "compactor.retention_enabled and delete_request_store are needed for retention")
        if not re.fullmatch(r"\d+[hdw]", str(cfg.get("limits_config", {}).get("retention_period", ""))):
            self.fail(path, "limits_config.retention_period must be set")
        for key, value in (("common.path_prefix", cfg.get("common", {}).get("path_prefix")),
                           ("ingester.wal.dir", cfg.get("ingester", {}).get("wal", {}).get("dir")),
                           ("compactor.working_directory", comp.get("working_directory"))):
            if not str(value).startswith("/loki"):
                self.fail(path, f"{key} must be under /loki (the EFS mount), got {value}")
        dockerfile = os.path.join(self.root, "loki", "Dockerfile")
        with open(dockerfile, encoding="utf-8") as f:
            text = f.read()
        if "-config.expand-env=true" not in text:
            self.fail(dockerfile, "loki must run with -config.expand-env=true")
        for src in re.findall(r"^COPY\s+(\S+)\s+\S+\s*$", text, re.M):
            if not os.path.exists(os.path.join(self.root, "loki", src)):
                self.fail(dockerfile, f"COPY source {src} does not exist")


def main(argv):
    root = os.path.abspath(argv[1] if len(argv) > 1 else os.path.join(os.path.dirname(__file__), "..", "..", "grafana"))
    c = Checker(root)
    try:
        ds = c.datasources()
        c.dashboards(ds)
        c.image()
        c.loki()
    except (OSError, ValueError, yaml.YAMLError, AttributeError, KeyError, TypeError) as e:
        c.problems.append(f"check_grafana: {type(e).__name__}: {e}")
    if c.problems:
        print(f"check_grafana: {len(c.problems)} problem(s):")
        for p in c.problems:
            print("  " + p)
        return 1
    print("check_grafana: ok")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
