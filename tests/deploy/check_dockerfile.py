#!/usr/bin/python3
"""Static checks of the root Dockerfile and .dockerignore (no Docker engine
needed).

usage: check_dockerfile.py [REPO_ROOT]

  stages     two stages, both FROM debian:bookworm-slim; the build stage runs
             scripts/setup --run-only, scripts/build and the unit tests
             (ctest ... -L unit); every repository script a RUN calls exists
             and is executable.
  runtime    non-root USER; STOPSIGNAL SIGTERM; a HEALTHCHECK that runs the
             tycho binary's `health` subcommand (exec form) without --url
             (it follows TYCHO_LISTEN's port), and no curl or
             wget installed; ENTRYPOINT/CMD `tycho serve --routes /app/routes`;
             EXPOSE 8080; the binary at /usr/local/bin/tycho, lua/ at
             /usr/local/share/tycho/lua, routes/ at /app/routes; a /tmp VOLUME
             so a read-only root file system works; no compilers.
  context    every COPY source exists in the repository and is not excluded
             by .dockerignore; every COPY --from names an earlier stage.
  unit deps  every program a unit test execs by absolute path
             (tests/unit/*.c: execl/execv... "/usr/bin/python3") and the
             standard-library modules of the script it runs are installed by
             the build stage: apt-get simulates, against an empty dpkg status
             (a clean image) and the local apt lists, installing the build
             stage's packages (scripts/setup's BUILD_PKGS + RUN_PKGS, plus the
             stage's own `apt-get install` words), and the Debian package that
             owns each of those files (dpkg -S here) must be among them.
             Needs the apt lists (apt-get update) and those files installed
             on this machine (scripts/setup).
Exit 0 when all pass, 1 with one line per problem otherwise.
"""
import fnmatch
import json
import os
import re
import shlex
import subprocess
import sys
import tempfile

BASE = "debian:bookworm-slim"


def logical_lines(text):
    """Dockerfile instructions with continuation lines joined and comments dropped."""
    out, cur = [], ""
    for raw in text.splitlines():
        line = raw.rstrip()
        if not cur and (not line.strip() or line.lstrip().startswith("#")):
            continue
        if cur and line.lstrip().startswith("#"):
            continue  # comment inside a continued instruction
        if line.endswith("\\"):
            cur += line[:-1] + " "
            continue
        cur += line
        out.append(cur.strip())
        cur = ""
    if cur:
        out.append(cur.strip())
    return out


def parse(text):
    stages = []
    for line in logical_lines(text):
        m = re.match(r"(\w+)\s+(.*)$", line, re.S)
        if not m:
            continue
        ins, args = m.group(1).upper(), m.group(2).strip()
        if ins == "FROM":
            fm = re.match(r"(?:--platform=\S+\s+)?(\S+)(?:\s+AS\s+(\S+))?", args, re.I)
            stages.append({"image": fm.group(1), "name": (fm.group(2) or "").lower(), "ins": []})
        elif stages:
            stages[-1]["ins"].append((ins, args))
    return stages


def exec_form(args):
    try:
        v = json.loads(args)
        return v if isinstance(v, list) else None
    except ValueError:
        return None


def dockerignore_patterns(root):
    path = os.path.join(root, ".dockerignore")
    pats = []
    if os.path.exists(path):
        with open(path, encoding="utf-8") as f:
            for line in f:
                line = line.strip()
                if not line or line.startswith("#"):
                    continue
                neg = line.startswith("!")
                pat = line[1:] if neg else line
                pats.append((neg, pat.strip("/")))
    return pats


def glob_match(path, pattern):
    """Docker-style match: '*' stays within a path segment, '**' spans segments."""
    rx = ""
    i = 0
    while i < len(pattern):
        if pattern.startswith("**/", i):
            rx += "(?:.*/)?"
            i += 3
        elif pattern.startswith("**", i):
            rx += ".*"
            i += 2
        else:
            c = pattern[i]
            rx += "[^/]*" if c == "*" else "[^/]" if c == "?" else re.escape(c)
            i += 1
    return re.fullmatch(rx, path) is not None


def ignored(path, pats):
    """True if .dockerignore keeps `path` (relative, '/'-separated) out of the context."""
    parts = path.strip("/").split("/")
    prefixes = ["/".join(parts[:i]) for i in range(1, len(parts) + 1)]
    state = False
    for neg, pat in pats:
        if any(glob_match(p, pat) for p in prefixes):
            state = not neg
    return state


def setup_packages(root):
    """scripts/setup's BUILD_PKGS and RUN_PKGS (what `scripts/setup --run-only` installs)."""
    with open(os.path.join(root, "scripts", "setup"), encoding="utf-8") as f:
        text = f.read()
    pkgs = []
    for var in ("BUILD_PKGS", "RUN_PKGS"):
        m = re.search(rf"^{var}=\((.*?)\)", text, re.S | re.M)
        if not m:
            raise ValueError(f"scripts/setup defines no {var}=(...)")
        pkgs += m.group(1).split()
    return pkgs


def stage_apt_installs(run_args):
    """Package names of every `apt-get install` in the stage's RUN instructions."""
    pkgs = []
    for args in run_args:
        for m in re.finditer(r"apt-get\s+install\b([^;&|]*)", args):
            pkgs += [t for t in m.group(1).split() if not t.startswith("-")]
    return pkgs


def unit_test_execs(root):
    """(program, script or None) for every exec* of an absolute path in tests/unit/*.c."""
    found = set()
    unit = os.path.join(root, "tests", "unit")
    for name in sorted(os.listdir(unit)):
        if not name.endswith(".c"):
            continue
        with open(os.path.join(unit, name), encoding="utf-8") as f:
            text = f.read()
        for m in re.finditer(r"\bexec[lv]p?e?\s*\(\s*\"(/[^\"]+)\"([^;]*)", text):
            script = re.search(r"\"(tests/[^\"]+\.py)\"", m.group(2))
            found.add((m.group(1), script.group(1) if script else None))
    return sorted(found, key=lambda x: (x[0], x[1] or ""))


def python_stdlib_files(root, script):
    """Files of the standard-library modules `script` imports at top level (ours excluded)."""
    with open(os.path.join(root, script), encoding="utf-8") as f:
        text = f.read()
    mods = set()
    for m in re.finditer(r"^(?:import\s+([\w.]+(?:\s*,\s*[\w.]+)*)|from\s+([\w.]+)\s+import)", text, re.M):
        for mod in (m.group(1) or m.group(2)).split(","):
            mods.add(mod.strip())
    out = subprocess.run(
        ["/usr/bin/python3", "-c",
         "import importlib.util,sys\n"
         "for m in sys.argv[1:]:\n"
         "    s = importlib.util.find_spec(m)\n"
         "    print(m, s.origin if s and s.origin not in (None, 'built-in', 'frozen') else '-')",
         *sorted(mods)], capture_output=True, text=True, check=True).stdout
    return [(mod, path) for mod, path in (line.split(" ", 1) for line in out.splitlines()) if path.startswith("/usr/lib/")]


def owner(path):
    r = subprocess.run(["dpkg", "-S", path], capture_output=True, text=True)
    if r.returncode != 0:
        r = subprocess.run(["dpkg", "-S", os.path.realpath(path)], capture_output=True, text=True)
    return r.stdout.split(":", 1)[0].strip() if r.returncode == 0 else None


def simulated_install(pkgs):
    """Packages apt-get would install on a system with an empty dpkg status, or raise with apt's message."""
    with tempfile.NamedTemporaryFile("w", suffix=".status") as status:
        r = subprocess.run(["apt-get", "-s", "-o", f"Dir::State::status={status.name}", "-o", "Debug::NoLocking=1",
                            "install", "--no-install-recommends", *pkgs],
                           capture_output=True, text=True, env={**os.environ, "LC_ALL": "C"})
    if r.returncode != 0:
        raise RuntimeError(f"apt-get -s failed (apt lists missing? run apt-get update): {r.stdout[-500:]}{r.stderr[-500:]}")
    return {m.group(1) for m in re.finditer(r"^Inst (\S+)", r.stdout, re.M)}


def check_unit_test_deps(root, build, fail):
    runs = [a for i, a in build["ins"] if i == "RUN"]
    pkgs = (setup_packages(root) if any(re.search(r"scripts/setup\s+--run-only", a) for a in runs) else []) \
        + stage_apt_installs(runs)
    needed = []  # (file, why)
    for prog, script in unit_test_execs(root):
        needed.append((prog, f"a unit test execs {prog}"))
        if script and script.endswith(".py"):
            needed += [(path, f"{script} imports {mod}") for mod, path in python_stdlib_files(root, script)]
    if not needed:
        return
    try:
        installed = simulated_install(pkgs)
    except RuntimeError as e:
        fail(f"cannot check the unit tests' programs: {e}")
        return
    missing = {}  # Debian package -> why it is needed
    for path, why in needed:
        pkg = owner(path)
        if pkg is None:
            fail(f"{why}, but no Debian package owns {path} on this machine (install it: scripts/setup)")
        elif pkg not in installed:
            missing.setdefault(pkg, []).append(f"{why} ({path})")
    for pkg, whys in sorted(missing.items()):
        fail(f"build stage does not install {pkg}: {'; '.join(whys)}")
    if missing:
        fail(f"build stage packages (scripts/setup --run-only + its apt-get install): {' '.join(pkgs)}")


def main(argv):
    root = os.path.abspath(argv[1] if len(argv) > 1 else os.path.join(os.path.dirname(__file__), "..", ".."))
    problems = []

    def fail(msg):
        problems.append(msg)

    with open(os.path.join(root, "Dockerfile"), encoding="utf-8") as f:
        text = f.read()
    stages = parse(text)
    pats = dockerignore_patterns(root)
    if len(stages) < 2:
        fail(f"expected a build and a runtime stage, found {len(stages)} stage(s)")
        stages += [{"image": "", "name": "", "ins": []}] * (2 - len(stages))
    for s in stages:
        if s["image"] != BASE:
            fail(f"stage {s['name'] or '?'} is FROM {s['image']}, expected {BASE}")
    build, runtime = stages[0], stages[-1]

    # ---- build stage
    runs = " ; ".join(a for i, a in build["ins"] if i == "RUN")
    for want, why in ((r"scripts/setup\s+--run-only", "scripts/setup --run-only"),
                      (r"(^|[\s;&|])scripts/build\b", "scripts/build"),
                      (r"ctest\b[^;&|]*-L\s+unit", "ctest -L unit (the unit tests)")):
        if not re.search(want, runs):
            fail(f"build stage does not run {why}")
    for stage in stages:
        for ins, args in stage["ins"]:
            if ins != "RUN":
                continue
            for script in sorted(set(re.findall(r"(?<![\w/.-])(scripts/[A-Za-z0-9_.-]+)", args))):
                p = os.path.join(root, script)
                if not os.path.isfile(p):
                    fail(f"RUN calls {script}, which does not exist in the repository")
                elif not os.access(p, os.X_OK):
                    fail(f"RUN calls {script}, which is not executable")

    check_unit_test_deps(root, build, fail)

    # ---- COPY sources and --from
    names = [s["name"] for s in stages]
    for idx, stage in enumerate(stages):
        for ins, args in stage["ins"]:
            if ins not in ("COPY", "ADD"):
                continue
            toks = shlex.split(args)
            flags = [t for t in toks if t.startswith("--")]
            rest = [t for t in toks if not t.startswith("--")]
            src_from = [f.split("=", 1)[1] for f in flags if f.startswith("--from=")]
            if ins == "ADD":
                fail(f"use COPY, not ADD: {args}")
            if len(rest) < 2:
                fail(f"COPY without source and destination: {args}")
                continue
            if src_from:
                ref = src_from[0].lower()
                if ref not in names[:idx] and not ref.isdigit():
                    fail(f"COPY --from={src_from[0]} names no earlier stage")
                continue
            for src in rest[:-1]:
                rel = os.path.normpath(src).lstrip("./") or "."
                if not os.path.exists(os.path.join(root, rel)):
                    fail(f"COPY source {src} does not exist in the repository")
                elif rel != "." and ignored(rel, pats):
                    fail(f"COPY source {src} is excluded by .dockerignore")

    # ---- runtime stage
    rt = runtime["ins"]
    last = lambda ins: next((a for i, a in reversed(rt) if i == ins), None)  # noqa: E731
    user = last("USER")
    if not user or user.split(":")[0] in ("root", "0"):
        fail(f"runtime stage must end with a non-root USER (got {user!r})")
    if (last("STOPSIGNAL") or "").upper() not in ("SIGTERM", "15"):
        fail("runtime stage needs STOPSIGNAL SIGTERM")
    hc = last("HEALTHCHECK") or ""
    m = re.search(r"\bCMD\s+(\[.*\])\s*$", hc)
    hc_cmd = exec_form(m.group(1)) if m else None
    if not hc_cmd or hc_cmd[:2] != ["/usr/local/bin/tycho", "health"]:
        fail(f"HEALTHCHECK must be exec form CMD [\"/usr/local/bin/tycho\", \"health\"], got {hc!r}")
    elif any(a == "--url" or a.startswith("--url=") for a in hc_cmd[2:]):
        # a fixed URL ignores TYCHO_LISTEN: `docker run -e TYCHO_LISTEN=0.0.0.0:3000` would stay unhealthy
        fail(f"HEALTHCHECK must not pass --url (tycho health follows TYCHO_LISTEN's port), got {hc!r}")
    run_rt = " ".join(a for i, a in rt if i == "RUN")
    for tool in ("curl", "wget", "build-essential", "gcc", "cmake"):
        if re.search(rf"apt-get\s+install[^;&|]*\s{re.escape(tool)}(\s|$)", run_rt):
            fail(f"runtime stage installs {tool}")
    if "rm -rf /var/lib/apt/lists" not in run_rt:
        fail("runtime stage keeps the apt lists (rm -rf /var/lib/apt/lists/*)")
    if exec_form(last("ENTRYPOINT") or "") != ["/usr/local/bin/tycho"]:
        fail("ENTRYPOINT must be [\"/usr/local/bin/tycho\"]")
    if exec_form(last("CMD") or "") != ["serve", "--routes", "/app/routes"]:
        fail("CMD must be [\"serve\", \"--routes\", \"/app/routes\"]")
    if "8080" not in (last("EXPOSE") or ""):
        fail("EXPOSE 8080 missing")
    vols = " ".join(a for i, a in rt if i == "VOLUME")
    if "/tmp" not in vols:
        fail("VOLUME /tmp missing: with a read-only root file system tycho needs a writable scratch path")
    dests = {}
    for ins, args in rt:
        if ins == "COPY":
            toks = [t for t in shlex.split(args) if not t.startswith("--")]
            for src in toks[:-1]:
                dests[os.path.normpath(src)] = os.path.normpath(toks[-1])
    for src, dst in (("/src/build/tycho", "/usr/local/bin/tycho"), ("lua", "/usr/local/share/tycho/lua"),
                     ("routes", "/app/routes")):
        if dests.get(src) != dst:
            fail(f"runtime stage must copy {src} to {dst} (got {dests.get(src)})")

    if problems:
        print(f"check_dockerfile: {len(problems)} problem(s):")
        for p in problems:
            print("  " + p)
        return 1
    print(f"check_dockerfile: ok ({len(stages)} stages, {sum(len(s['ins']) for s in stages)} instructions)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
