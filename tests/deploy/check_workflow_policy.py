#!/usr/bin/python3
"""The deploy workflow's security rules, checked on the YAML.

usage: check_workflow_policy.py [DEPLOY_WORKFLOW [CI_WORKFLOW]]
       (default: .github/workflows/deploy.yml and .github/workflows/ci.yml)

deploy workflow:
  - it is not triggered by `push`: it runs on `workflow_run` of the CI
    workflow (by its name), branches [main], and by hand (`workflow_dispatch`);
  - every job that may mint an OIDC token (`id-token: write`) runs only for
    main: its `if` requires github.ref == 'refs/heads/main', a successful CI
    run (workflow_run.conclusion == 'success') of a push to main in this
    repository;
  - no third-party action (outside actions/ and aws-actions/) runs in a job
    that has `id-token: write` (a compromised scanner must never see the
    credentials or be able to ask for them);
  - every `docker push` is guarded: the same script first asks
    `aws ecr describe-images ... --image-ids imageTag=...` and skips a tag
    that is already there (the repositories are IMMUTABLE: a re-run or a
    manual run of a deployed commit would otherwise fail at the push);
  - the images are tagged by scripts/image-tag, run before `docker build` in
    the job that builds them and never with --no-base (the tag folds in the
    freshly pulled base images); Grafana and Loki by the files their
    Dockerfile copies (matrix `tag-by: files`), and `cdk deploy --all`
    passes -c grafanaImageTag / lokiImageTag (so a release that leaves their
    files alone does not restart them);
  - a job with `id-token: write` also admits CI's scheduled run
    (workflow_run.event == 'schedule'), and the CI workflow has a `schedule`
    trigger: the weekly run that brings in republished base images, in a
    concurrency group of its own (a group shared with pushes lets a push
    cancel the scheduled run, and that week's base refresh with it);
  - only main's head is deployed: a job that every `id-token: write` job
    needs asks the API for main's head (`commits/heads/main`) and sets an
    output, which the job that builds the images tests in its `if` (a CI
    run that ends after a newer push was deployed, or a re-run of an old
    one, would otherwise roll production back);
  - a manual run (`workflow_dispatch`) is gated as workflow_run is: a job
    that every `id-token: write` job needs has a step, run only for
    workflow_dispatch, that asks the API for a successful CI run on the
    commit (`actions/workflows/<ci>.yml/runs?head_sha=...&status=success`)
    with `actions: read`;
  - no `-c key=$VAR` where VAR comes from an optional repository variable
    (`vars.X` without a `||` default) unconditionally: an unset variable
    would pass an empty value that replaces cdk.json's;
every workflow given:
  - actions outside actions/ and github/ are pinned by a full commit SHA with
    the version in a comment (`uses: o/r@<40 hex> # vX.Y.Z`);
  - Trivy image scans that fail the job do so on HIGH and CRITICAL, unfixed
    ones ignored;
  - a SARIF upload to code scanning (github/codeql-action/upload-sarif) has
    `continue-on-error: true` (a repository without code scanning must not
    fail the run), while no Trivy step that fails the job has it;
ci workflow:
  - the job that builds the Loki image runs it with -verify-config, and the
    one that builds the Grafana image starts it (`docker run -d`) and asks
    its API for /api/health, the provisioned data sources and dashboards
    (/api/search): nothing else starts them before production;
  - a job builds the tycho image and fails on its Trivy scan (pull requests too);
  - before that scan, the same job runs the image's default command in the
    background (`docker run -d`) and probes /health with `docker exec ...
    tycho health`.
Exit 0 when every rule holds, 1 listing the violations.
"""
import os
import re
import sys

import yaml

FIRST_PARTY = ("actions/", "github/")
CREDENTIAL_JOB_ACTIONS = ("actions/", "aws-actions/")
SHA_PIN = re.compile(r"^\s*(?:-\s+)?uses:\s*([^@\s]+)@([0-9a-f]{40})\s+#\s*v?\d+(\.\d+)*\s*$")


def triggers(doc):
    on = doc.get("on", doc.get(True))  # PyYAML reads a bare `on` as True
    if isinstance(on, str):
        return {on: None}
    if isinstance(on, list):
        return {k: None for k in on}
    return on or {}


def steps(job):
    return job.get("steps") or []


def is_trivy(step):
    return str(step.get("uses", "")).startswith("aquasecurity/trivy-action")


def check_pins(path, text, errors):
    for n, line in enumerate(text.splitlines(), 1):
        m = re.match(r"^\s*(?:-\s+)?uses:\s*(\S+)", line)
        if not m or m.group(1).startswith(FIRST_PARTY) or m.group(1).startswith("./"):
            continue
        if not SHA_PIN.match(line):
            errors.append(f"{path}:{n}: {m.group(1)} is not pinned by a full commit SHA with its version in a comment")


def check_image_scans(path, doc, errors):
    for job_id, job in (doc.get("jobs") or {}).items():
        for step in steps(job):
            w = step.get("with") or {}
            if not is_trivy(step) or not w.get("image-ref") or str(w.get("exit-code", "0")) == "0":
                continue
            sev = {s.strip() for s in str(w.get("severity", "")).split(",")}
            if not {"HIGH", "CRITICAL"} <= sev:
                errors.append(f"{path}: job {job_id}: image scan '{step.get('name')}' does not fail on HIGH and CRITICAL")
            if str(w.get("ignore-unfixed", "false")).lower() != "true":
                errors.append(f"{path}: job {job_id}: image scan '{step.get('name')}' does not set ignore-unfixed")


def check_sarif_uploads(path, doc, errors):
    for job_id, job in (doc.get("jobs") or {}).items():
        for step in steps(job):
            uses = str(step.get("uses", ""))
            coe = str(step.get("continue-on-error", "false")).lower() == "true"
            if uses.startswith("github/codeql-action/upload-sarif") and not coe:
                errors.append(f"{path}: job {job_id}: SARIF upload '{step.get('name')}' lacks continue-on-error: true "
                              "(without code scanning the upload fails the job)")
            if is_trivy(step) and str((step.get("with") or {}).get("exit-code", "0")) != "0" and coe:
                errors.append(f"{path}: job {job_id}: Trivy gate '{step.get('name')}' has continue-on-error: it must fail the job")


def check_deploy(path, doc, ci_name, errors):
    on = triggers(doc)
    if "push" in on:
        errors.append(f"{path}: triggered by push: a red CI run would still deploy")
    run = on.get("workflow_run") or {}
    if ci_name not in (run.get("workflows") or []) or run.get("branches") != ["main"]:
        errors.append(f"{path}: not triggered by workflow_run of '{ci_name}' on branches [main]")
    for job_id, job in (doc.get("jobs") or {}).items():
        check_pushes(path, job_id, job, errors)
        check_image_tags(path, job_id, job, errors)
        check_content_tags(path, job_id, job, errors)
        check_optional_context(path, job_id, job, errors)
        if (job.get("permissions") or doc.get("permissions") or {}).get("id-token") != "write":
            continue
        cond = re.sub(r"\s+", " ", str(job.get("if", "")))
        for need in ("github.ref == 'refs/heads/main'", "github.event.workflow_run.conclusion == 'success'",
                     "github.event.workflow_run.head_branch == 'main'", "github.event.workflow_run.event == 'push'",
                     "github.event.workflow_run.event == 'schedule'",
                     "github.event.workflow_run.head_repository.full_name == github.repository"):
            if need not in cond:
                errors.append(f"{path}: job {job_id} has id-token: write but its `if` lacks {need}")
        for step in steps(job):
            uses = str(step.get("uses", ""))
            if uses and not uses.startswith(CREDENTIAL_JOB_ACTIONS):
                errors.append(f"{path}: job {job_id} has id-token: write and runs third-party action {uses}")


def job_needs(job):
    needs = job.get("needs") or []
    return {needs} if isinstance(needs, str) else set(needs)


def check_gates(path, doc, errors):
    """Only main's head is deployed, and a workflow_dispatch run only after CI passed on it."""
    jobs = doc.get("jobs") or {}
    manual, head = set(), set()
    for job_id, job in jobs.items():
        for step in steps(job):
            text = run_text(step)
            if "workflow_dispatch" in str(step.get("if", "")) and re.search(r"actions/workflows/[\w.-]+/runs\?", text) \
                    and "head_sha=" in text and "status=success" in text:
                manual.add(job_id)
                if (job.get("permissions") or {}).get("actions") not in ("read", "write"):
                    errors.append(f"{path}: job {job_id} checks CI runs without `actions: read`")
            if "commits/heads/main" in text and "GITHUB_OUTPUT" in text:
                head.add(job_id)
    gates = []
    if "workflow_dispatch" in triggers(doc):
        if manual:
            gates.append(("the job that checks CI for manual runs", manual))
        else:
            errors.append(f"{path}: a manual run (workflow_dispatch) deploys without checking that CI succeeded on "
                          "the commit (no step asks actions/workflows/<ci>/runs?head_sha=...&status=success)")
    if head:
        gates.append(("the job that checks the commit is main's head", head))
    else:
        errors.append(f"{path}: deploys a commit without checking that it is still main's head (no step asks "
                      "commits/heads/main): a CI run that ends late, or a re-run, would roll production back")
    for job_id, job in jobs.items():
        if (job.get("permissions") or doc.get("permissions") or {}).get("id-token") == "write":
            for what, ids in gates:
                if not ids & job_needs(job):
                    errors.append(f"{path}: job {job_id} has id-token: write but does not need {what} "
                                  f"({', '.join(sorted(ids))})")
        if head and any("docker build" in run_text(st) for st in steps(job)):
            cond = str(job.get("if", ""))
            if not any(h in job_needs(job) and f"needs.{h}.outputs." in cond for h in head):
                errors.append(f"{path}: job {job_id} builds images without `needs` on {', '.join(sorted(head))} "
                              "and an `if` on its output (a commit that is not main's head would be built)")


def run_text(step):
    return str(step.get("run", ""))


def check_pushes(path, job_id, job, errors):
    for step in steps(job):
        text = run_text(step)
        push = text.find("docker push")
        if push < 0:
            continue
        guard = text.find("aws ecr describe-images")
        if guard < 0 or guard > push or "--image-ids imageTag=" not in text[guard:push]:
            errors.append(f"{path}: job {job_id}: step '{step.get('name')}' pushes without first checking "
                          "`aws ecr describe-images --image-ids imageTag=...` (an immutable tag already in ECR "
                          "fails the push on a re-run)")


def check_image_tags(path, job_id, job, errors):
    texts = [run_text(st) for st in steps(job)]
    builds = [i for i, t in enumerate(texts) if "docker build" in t]
    if not builds:
        return
    tagging = [i for i, t in enumerate(texts) if "scripts/image-tag" in t]
    if not tagging or tagging[0] > builds[0]:
        errors.append(f"{path}: job {job_id}: no step runs scripts/image-tag before `docker build` (the ECR tag "
                      "must name the sources and the freshly pulled base images)")
    for i in tagging:
        if "--no-base" in texts[i]:
            errors.append(f"{path}: job {job_id}: scripts/image-tag --no-base: a republished base image would keep "
                          "the tag and never be pushed")
    entries = {e.get("image"): e for e in ((job.get("strategy") or {}).get("matrix") or {}).get("include") or []}
    for image in ("tycho-grafana", "tycho-loki"):
        if image in entries and entries[image].get("tag-by") != "files":
            errors.append(f"{path}: job {job_id}: {image} is not tagged by its files (tag-by: files): every release "
                          "would restart it")


def check_content_tags(path, job_id, job, errors):
    texts = [run_text(st) for st in steps(job)]
    deploys = [t for t in texts if re.search(r"cdk deploy --all", t)]
    if not deploys:
        return
    for key in ("grafanaImageTag", "lokiImageTag"):
        if not any(f"-c {key}=" in t for t in deploys):
            errors.append(f"{path}: job {job_id}: `cdk deploy --all` does not pass -c {key} (it then defaults "
                          "to imageTag, and every release restarts Grafana and Loki)")


def check_optional_context(path, job_id, job, errors):
    for step in steps(job):
        optional = [name for name, value in (step.get("env") or {}).items()
                    if re.search(r"\bvars\.", str(value)) and "||" not in str(value)]
        text = run_text(step)
        for name in optional:
            m = re.search(rf"-c\s+[\"']?(\w+)=[\"']?\$\{{?{name}\b", text)
            if m:
                errors.append(f"{path}: job {job_id}: step '{step.get('name')}' passes -c {m.group(1)} from the "
                              f"optional variable {name} unconditionally (an empty value overrides cdk.json)")


def check_ci(path, doc, errors):
    if "schedule" not in triggers(doc):
        errors.append(f"{path}: no schedule trigger: without it a base image republished with security fixes "
                      "is only picked up by the next commit")
    conc = doc.get("concurrency") or {}
    group = str(conc.get("group", "")) if isinstance(conc, dict) else str(conc)
    if conc and "github.event_name" not in group:
        errors.append(f"{path}: concurrency group '{group}' does not include github.event_name: a push "
                      "would cancel the weekly scheduled run (and its base-image refresh)")
    for job_id, job in (doc.get("jobs") or {}).items():
        texts = [run_text(st) for st in steps(job)]
        if any(re.search(r"docker build\b.*-t tycho-loki:", t) for t in texts) and \
                not any(re.search(r"docker run\b.*tycho-loki:", t, re.S) and "-verify-config" in t for t in texts):
            errors.append(f"{path}: job {job_id} builds the Loki image but never runs it with -verify-config")
        if any(re.search(r"docker build\b.*-t tycho-grafana:", t) for t in texts) and \
                not any(re.search(r"docker run -d\b.*tycho-grafana:", t, re.S) and "/api/health" in t
                        and "/api/datasources/" in t and "/api/search" in t for t in texts):
            errors.append(f"{path}: job {job_id} builds the Grafana image but never starts it and checks its "
                          "provisioning (/api/health, /api/datasources/, /api/search)")
    for job_id, job in (doc.get("jobs") or {}).items():
        for i, step in enumerate(steps(job)):
            w = step.get("with") or {}
            if is_trivy(step) and re.search(r"(^|[/:])tycho:", str(w.get("image-ref", ""))) \
                    and str(w.get("exit-code", "0")) != "0":
                if not any(re.search(r"docker run -d\b", run_text(st)) and re.search(r"docker exec\b.*\btycho health\b", run_text(st))
                           for st in steps(job)[:i]):
                    errors.append(f"{path}: job {job_id}: no step before the Trivy scan runs the tycho image "
                                  "(docker run -d) and probes /health with docker exec ... tycho health")
                return
    errors.append(f"{path}: no job fails on a Trivy scan of the tycho image")


def load(path):
    with open(path, encoding="utf-8") as f:
        text = f.read()
    return text, yaml.safe_load(text)


def main(argv):
    root = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
    deploy = argv[1] if len(argv) > 1 else os.path.join(root, ".github", "workflows", "deploy.yml")
    ci = argv[2] if len(argv) > 2 else os.path.join(root, ".github", "workflows", "ci.yml")
    errors = []
    ci_text, ci_doc = load(ci)
    deploy_text, deploy_doc = load(deploy)
    for path, text, doc in ((deploy, deploy_text, deploy_doc), (ci, ci_text, ci_doc)):
        check_pins(os.path.relpath(path, root), text, errors)
        check_image_scans(os.path.relpath(path, root), doc, errors)
        check_sarif_uploads(os.path.relpath(path, root), doc, errors)
    check_deploy(os.path.relpath(deploy, root), deploy_doc, ci_doc.get("name"), errors)
    check_gates(os.path.relpath(deploy, root), deploy_doc, errors)
    check_ci(os.path.relpath(ci, root), ci_doc, errors)
    if errors:
        print(f"check_workflow_policy: {len(errors)} violation(s):")
        for e in errors:
            print("  " + e)
        return 1
    print("check_workflow_policy: ok")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
