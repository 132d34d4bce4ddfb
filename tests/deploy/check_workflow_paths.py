#!/usr/bin/python3
"""Every script, file and working directory the GitHub workflows reference
exists in the repository.

usage: check_workflow_paths.py [WORKFLOW ...]   (default: .github/workflows/*.yml)

Collected references:
  - `working-directory` of workflow/job defaults and of steps (must be a directory);
  - in `run:` scripts, every word that is a repository path: it starts with a
    top-level source entry (scripts/, infra/, grafana/, tests/, server/, lua/,
    routes/, exporters/, spec/, bench/, .github/, Dockerfile, CMakeLists.txt);
    also `docker build` context and -f arguments;
  - `with:` inputs that name inputs of the repository (`cache-dependency-path`,
    `sarif_file` is an output and skipped), and hashFiles('...') arguments.
Outputs (build/, cdk.out/, *.sarif, artifacts) are not references: they are
created by the run. Exit 0 when everything exists, 1 listing what is missing.
"""
import glob
import os
import re
import shlex
import sys

import yaml

TOP = ("scripts", "infra", "grafana", "tests", "server", "lua", "routes", "exporters", "spec", "bench",
       ".github", "Dockerfile", "CMakeLists.txt", "README.md")
INPUT_KEYS = ("cache-dependency-path",)


def is_repo_word(word, workdir):
    """The repository path a shell word names, or None."""
    w = word.strip().strip("'\"").rstrip(";,)")
    if not w or "$" in w or "://" in w or w.startswith("-"):
        return None
    if "/" not in w and w not in ("Dockerfile", "CMakeLists.txt", "README.md"):
        return None  # a command or an argument, not a path
    rel = os.path.normpath(os.path.join(workdir, w)) if workdir else os.path.normpath(w)
    first = rel.split(os.sep)[0]
    if first not in TOP:
        return None
    if first in ("Dockerfile", "CMakeLists.txt", "README.md") and rel != first:
        return None
    return rel


def run_references(script, workdir):
    refs = []
    for line in script.replace("\\\n", " ").splitlines():
        line = line.split(" #", 1)[0]
        try:
            words = shlex.split(line, comments=True)
        except ValueError:
            words = line.split()
        for i, w in enumerate(words):
            # `docker build [opts] CONTEXT`: the context is a bare directory name
            if w == "build" and i > 0 and words[i - 1] == "docker":
                rest = words[i + 1:]
                j = 0
                while j < len(rest):
                    if rest[j] in ("-f", "--file"):
                        refs.append(os.path.normpath(os.path.join(workdir or "", rest[j + 1])))
                        j += 2
                    elif rest[j] in ("-t", "--tag", "--build-arg", "--target", "--platform"):
                        j += 2
                    elif rest[j].startswith("-"):
                        j += 1
                    else:
                        if "$" not in rest[j]:  # a variable (e.g. a matrix value) is not a path
                            refs.append(os.path.normpath(os.path.join(workdir or "", rest[j])))
                        break
            r = is_repo_word(w, workdir)
            if r:
                refs.append(r)
    return sorted(set(refs))


def main(argv):
    root = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
    files = argv[1:] or sorted(glob.glob(os.path.join(root, ".github", "workflows", "*.y*ml")))
    missing, checked = [], 0
    for wf in files:
        with open(wf, encoding="utf-8") as f:
            text = f.read()
        doc = yaml.safe_load(text)
        rel_wf = os.path.relpath(wf, root)

        def need(path, where, kind="path"):
            nonlocal checked
            checked += 1
            full = os.path.join(root, path)
            pattern_ok = glob.glob(full, recursive=True) if any(c in path for c in "*?[") else os.path.exists(full)
            if not pattern_ok:
                missing.append(f"{rel_wf}: {where}: {kind} {path} does not exist")
            elif kind == "working-directory" and not os.path.isdir(full):
                missing.append(f"{rel_wf}: {where}: working-directory {path} is not a directory")

        for m in re.finditer(r"hashFiles\(([^)]*)\)", text):
            for arg in re.findall(r"'([^']*)'", m.group(1)):
                need(arg, "hashFiles")
        wf_dir = ((doc.get("defaults") or {}).get("run") or {}).get("working-directory")
        if wf_dir:
            need(wf_dir, "defaults", "working-directory")
        for job_id, job in (doc.get("jobs") or {}).items():
            job_dir = ((job.get("defaults") or {}).get("run") or {}).get("working-directory") or wf_dir
            if job_dir:
                need(job_dir, f"job {job_id} defaults", "working-directory")
            for n, step in enumerate(job.get("steps") or [], 1):
                where = f"job {job_id} step {n} ({step.get('name') or step.get('uses') or 'run'})"
                workdir = step.get("working-directory") or job_dir
                if step.get("working-directory"):
                    need(step["working-directory"], where, "working-directory")
                if step.get("run"):
                    for ref in run_references(step["run"], workdir):
                        need(ref, where)
                for key, value in (step.get("with") or {}).items():
                    if key in INPUT_KEYS:
                        for v in str(value).split():
                            need(v, f"{where} with.{key}")
    if missing:
        print(f"check_workflow_paths: {len(missing)} missing reference(s):")
        for m in missing:
            print("  " + m)
        return 1
    print(f"check_workflow_paths: ok, {checked} references in {len(files)} workflow(s)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
