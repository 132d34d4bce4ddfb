#!/usr/bin/python3
"""The user's documentation covers what the product reads and serves.

  check_doc_coverage.py env SRC
      every environment variable the code reads is named in the user's
      documentation (README.md, docs/*.md, server/*/*.md, exporters/README.md):
      the TYCHO_* list of server/core/env_names.c (tests/lint/test_env_names.sh
      keeps it equal to what the C sources read), the AWS_*, OTEL_* and ECS_*
      names the C sources read, and the variables the Lua side reads with
      tycho.env or os.getenv (lua/, routes/; comment lines aside).
  check_doc_coverage.py routes SRC CHECK_OUTPUT
      README.md's endpoint table of the reference app and `tycho check
      routes` (its output in CHECK_OUTPUT) name the same method/path pairs;
      HEAD routes and the /docs page's assets may be named in the prose.
  check_doc_coverage.py admin SRC
      README.md's admin table and server/core/admin_request.c (the admin
      listener's page table) serve the same paths.
  check_doc_coverage.py flags SRC HELP_OUTPUT
      README.md's server configuration table and `tycho serve --help` (its
      output in HELP_OUTPUT) list the same flags, variables and defaults.
  check_doc_coverage.py commands SRC HELP_DIR
      every option in the usage lines of `tycho <command> --help` (its
      output in HELP_DIR/<command>.txt) is in README.md's Commands row of it.

A documented name may use the shorthands of the tables: a suffix after a
full name in the same line (`TYCHO_LOKI_FLUSH_INTERVAL`, `_BATCH_BYTES` is
TYCHO_LOKI_BATCH_BYTES), an optional part in brackets
(`OTEL_EXPORTER_OTLP[_TRACES]_HEADERS`) and `<SERVICE>` in
`AWS_ENDPOINT_URL_<SERVICE>`. Prints one "not ok" line per gap; exits 1 on
any, 2 on a search that found too little to be believed.
"""
import glob
import os
import re
import sys

NAME = r"[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+"


def docs(src):
    paths = ["README.md", "exporters/README.md"]
    paths += sorted(glob.glob(os.path.join(src, "docs", "*.md")))
    paths += sorted(glob.glob(os.path.join(src, "server", "*", "*.md")))
    return [os.path.join(src, p) for p in paths]


def read(path):
    with open(path, encoding="utf-8") as f:
        return f.read()


def expand_brackets(token):
    """`A[_B]_C` -> A_C and A_B_C (nested brackets are not used)."""
    m = re.search(r"\[([^\[\]]*)\]", token)
    if not m:
        return [token]
    head, tail = token[: m.start()], token[m.end():]
    return expand_brackets(head + tail) + expand_brackets(head + m.group(1) + tail)


def documented_names(src):
    """Every variable name the documentation spells out or abbreviates."""
    names, patterns = set(), []
    for path in docs(src):
        for line in read(path).splitlines():
            tokens = []
            for t in re.findall(r"`([^`\s]+)`", line) + re.findall(r"\b" + NAME + r"\b", line):
                tokens += expand_brackets(t.split("=", 1)[0])
            full = [t for t in tokens if re.fullmatch(NAME, t)]
            names.update(full)
            for t in tokens:
                if "<" in t and re.fullmatch(r"[A-Z0-9_]+<[A-Z]+>", t):
                    patterns.append(re.compile(re.escape(t[: t.index("<")]) + r"[A-Z0-9_]+"))
                if re.fullmatch(r"_[A-Z0-9_]+", t):
                    for f in full:
                        for i in [i for i, c in enumerate(f) if c == "_"]:
                            names.add(f[:i] + t)
    return names, patterns


def verdict(summary, too_few, what, fails):
    """Prints a check's summary line; 2 when it found too few `what` to be
    believed (the search is broken), else 1 on any gap, 0 on none."""
    print(summary)
    if too_few:
        print(f"not ok - too few {what}: is the search broken?")
        return 2
    return 1 if fails else 0


def read_by_code(src):
    """(name, where) for every variable the code reads."""
    found = {}
    listed = os.path.join(src, "server", "core", "env_names.c")
    for n in re.findall(r'^\s+"(TYCHO_[A-Z0-9_]+)",', read(listed), re.M):
        found.setdefault(n, "server/core/env_names.c")
    for root in ("server", "exporters"):
        for path in sorted(glob.glob(os.path.join(src, root, "**", "*.[ch]"), recursive=True)):
            for n in re.findall(r'"((?:AWS|OTEL|ECS)_[A-Z0-9_]+)"', read(path)):
                found.setdefault(n, os.path.relpath(path, src))
    call = re.compile(r'(?:\benv\.[a-z_]+\s*\(\s*|\bos\.getenv\s*\(?\s*|\b\w+\(\s*)"(' + NAME + r')"')
    for root in ("lua", "routes"):
        for path in sorted(glob.glob(os.path.join(src, root, "**", "*.lua"), recursive=True)):
            text = read(path)
            if root == "routes" and "tycho.env" not in text:
                continue
            for line in text.splitlines():
                if line.lstrip().startswith("--"):
                    continue
                if root == "lua" and not re.search(r"\benv\.|os\.getenv", line):
                    continue
                for n in call.findall(line):
                    found.setdefault(n, os.path.relpath(path, src))
    return found


def check_env(src):
    names, patterns = documented_names(src)
    code = read_by_code(src)
    gaps = [(n, w) for n, w in sorted(code.items())
            if n not in names and not any(p.fullmatch(n) for p in patterns)]
    for n, w in gaps:
        print(f"not ok - {n} (read in {w}) is in no user documentation "
              "(README.md, docs/, server/*/*.md, exporters/README.md)")
    return verdict(f"checked {len(code)} variables the code reads against {len(names)} documented names",
                   len(code) < 100 or not any(n.startswith("SQS_") for n in code),
                   "variables found in the code", gaps)


def readme_table(src, header):
    """The first-column cells of the README table whose header row starts with `header`."""
    rows, inside = [], False
    for line in read(os.path.join(src, "README.md")).splitlines():
        if line.startswith("| " + header + " |"):
            inside = True
            continue
        if inside:
            if not line.startswith("|"):
                break
            if not line.startswith("| ---"):
                rows.append(line.split("|")[1].strip())
    return rows


def endpoints(cell):
    """`GET /x`, `GET` or `POST /y` -> {("GET", "/x")}, {("GET", "/y"), ("POST", "/y")}."""
    path = re.search(r"(/[^`\s]*)`", cell)
    methods = re.findall(r"`?\b([A-Z]+)\b", cell.split("/")[0])
    return {(m, path.group(1)) for m in methods} if path else set()


def check_routes(src, check_output):
    rows = readme_table(src, "endpoint | file | does")
    documented = set()
    for cell in rows:
        documented |= endpoints(cell)
    served = set(re.findall(r"^\s*([A-Z]+)\s+(/\S*)\s+routes/", read(check_output), re.M))
    readme = read(os.path.join(src, "README.md"))
    table = "\n".join(l for l in readme.splitlines() if l.startswith("| `"))
    fails = 0
    for m, p in sorted(served - documented):
        # a HEAD route is told in its GET's row ("`HEAD` receives nothing"),
        # the /docs page's assets in the prose of its row
        row = next((l for l in table.splitlines() if f" {p}` |" in l.split("|")[1] + "|"), "")
        if not (m == "HEAD" and "`HEAD`" in row) and f"`{p}`" not in table and f"`{m} {p}`" not in table:
            print(f"not ok - {m} {p} is served (tycho check routes) but README.md's endpoint table does not name it")
            fails += 1
    for m, p in sorted(documented - served):
        print(f"not ok - README.md's endpoint table lists {m} {p} but tycho check routes does not serve it")
        fails += 1
    return verdict(f"checked {len(documented)} documented endpoints against {len(served)} served routes",
                   len(documented) < 10 or len(served) < 10, "endpoints found", fails)


def check_admin(src):
    documented = set()
    for cell in readme_table(src, "endpoint | answer"):
        documented |= endpoints(cell)
    code = read(os.path.join(src, "server", "core", "admin_request.c"))
    served = set(re.findall(r'\{"(/[^"]*)", TYCHO_ADMIN_[A-Z]+\}', code))
    fails = 0
    for p in sorted(served - {q for _, q in documented}):
        print(f"not ok - the admin listener serves {p} (server/core/admin_request.c) but README.md's admin table does not list it")
        fails += 1
    for m, p in sorted(documented):
        if p not in served:
            print(f"not ok - README.md's admin table lists {m} {p} but server/core/admin_request.c does not serve it")
            fails += 1
    return verdict(f"checked {len(documented)} documented admin endpoints against {len(served)} in admin_request.c",
                   len(documented) < 4, "admin endpoints found", fails)


def check_flags(src, help_output):
    """README's server configuration table and `tycho serve --help` (its
    output in help_output): the same flags, each with the same variable, and
    the same default where the README writes one as a value (`8192`)."""
    helped = {}
    for line in read(help_output).splitlines():
        m = re.match(r"\s+(--[a-z-]+)\s+(TYCHO_[A-Z0-9_]+)?.*?(?:\[([^\]]*)\])?$", line)
        if m:
            helped[m.group(1)] = (m.group(2), m.group(3))
    readme = read(os.path.join(src, "README.md"))
    start = readme.index("### Configuration reference (server)")
    rows = {}
    for line in readme[start:readme.index("\n### ", start + 1)].splitlines():
        m = re.match(r"\| `(--[a-z-]+)`(?: / `(--[a-z-]+)`)? \| `(TYCHO_[A-Z0-9_]+)` \| ([^|]*?) \|", line)
        if m:
            rows[m.group(1)] = (m.group(3), m.group(4))
            if m.group(2):
                rows[m.group(2)] = (None, None)
    fails = 0
    for flag in sorted(set(helped) | set(rows)):
        if flag not in rows:
            print(f"not ok - tycho serve --help lists {flag} but README.md's server table does not")
        elif flag not in helped:
            print(f"not ok - README.md's server table lists {flag} but tycho serve --help does not")
        elif rows[flag][0] and rows[flag][0] != helped[flag][0]:
            print(f"not ok - {flag}: README.md says {rows[flag][0]}, tycho serve --help {helped[flag][0]}")
        elif (rows[flag][1] or "").startswith("`") and rows[flag][1].strip("`") != helped[flag][1]:
            print(f"not ok - {flag}: default {rows[flag][1]} in README.md, [{helped[flag][1]}] in tycho serve --help")
        else:
            continue
        fails += 1
    return verdict(f"checked {len(rows)} flags of README.md against {len(helped)} of tycho serve --help",
                   len(rows) < 20 or len(helped) < 20, "flags found", fails)


def check_commands(src, help_dir):
    """Each `tycho <command> --help` (help_dir/<command>.txt): every option
    of its usage lines is in README.md's Commands row of that command."""
    readme = read(os.path.join(src, "README.md")).splitlines()
    fails = n = 0
    for path in sorted(glob.glob(os.path.join(help_dir, "*.txt"))):
        cmd = os.path.basename(path)[:-4]
        usage = []
        for line in read(path).splitlines():
            if not (line.startswith("usage: ") or (usage and line.startswith(" "))):
                break
            usage.append(line)
        row = next((l for l in readme if l.startswith(f"| `tycho {cmd}")), None)
        if not usage or row is None:
            print(f"not ok - tycho {cmd}: " + ("no usage line in its --help" if not usage else
                                               "no row in README.md's Commands table"))
            fails += 1
            continue
        for flag in sorted(set(re.findall(r"--[a-z][a-z-]*", " ".join(usage)))):
            n += 1
            if flag not in re.split(r"(?<!\\)\|", row)[1]:  # a cell may hold an escaped \|
                print(f"not ok - tycho {cmd} --help shows {flag} but README.md's Commands row does not")
                fails += 1
    return verdict(f"checked {n} options of the commands' usage lines against README.md's Commands table",
                   n < 5, "options found", fails)


def main(argv):
    if len(argv) >= 3 and argv[1] == "env":
        return check_env(argv[2])
    if len(argv) >= 4 and argv[1] == "routes":
        return check_routes(argv[2], argv[3])
    if len(argv) >= 3 and argv[1] == "admin":
        return check_admin(argv[2])
    if len(argv) >= 4 and argv[1] == "flags":
        return check_flags(argv[2], argv[3])
    if len(argv) >= 4 and argv[1] == "commands":
        return check_commands(argv[2], argv[3])
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
