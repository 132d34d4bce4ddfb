#!/usr/bin/env bash
# The documentation's cross-references resolve: in README.md, docs/*.md and
# the READMEs of server/, exporters/, bench/ and infra/, every relative
# Markdown link names a file of the repository and, with a #fragment into a
# .md file, one of its headings (GitHub's slugs: lower case, punctuation
# other than '-' and '_' dropped, spaces as '-', '-1'... for repeats); and a
# file named in the prose (DESIGN.md, `LOCAL.md`) exists somewhere in the
# repository, so a reader is never sent to a document that is not there.
set -euo pipefail
SRC=${TYCHO_SRC:-$(cd "$(dirname "$0")/../.." && pwd)}
cd "$SRC"
exec /usr/bin/python3 - README.md docs/*.md server/*/*.md exporters/README.md \
    bench/README.md infra/README.md <<'PY'
import os, re, subprocess, sys

tracked = subprocess.run(["git", "ls-files"], capture_output=True, text=True).stdout.split()
basenames = {os.path.basename(p) for p in tracked} | {os.path.basename(p) for p in sys.argv[1:]}

def strip_fences(text):
    return re.sub(r"^```.*?^```", "", text, flags=re.M | re.S)

def slugs(path):
    out, seen = set(), {}
    for line in strip_fences(open(path, encoding="utf-8").read()).splitlines():
        m = re.match(r"^#{1,6}\s+(.*?)\s*#*\s*$", line)
        if not m:
            continue
        s = re.sub(r"[^\w\- ]", "", m.group(1).lower()).replace(" ", "-")
        n = seen.get(s, 0)
        seen[s] = n + 1
        out.add(s if n == 0 else f"{s}-{n}")
    return out

bad = checked = 0
for f in sys.argv[1:]:
    text = strip_fences(open(f, encoding="utf-8").read())
    for m in re.finditer(r"\]\(([^)\s]+)\)", text):
        link = m.group(1)
        if re.match(r"^[a-z][a-z0-9+.-]*:", link):
            continue  # http:, https:, mailto:
        checked += 1
        path, _, frag = link.partition("#")
        target = os.path.normpath(os.path.join(os.path.dirname(f), path)) if path else f
        if not os.path.exists(target):
            print(f"{f}: link to a missing file: {link}")
            bad += 1
        elif frag and target.endswith(".md") and frag not in slugs(target):
            print(f"{f}: link to a missing heading: {link}")
            bad += 1
    for m in re.finditer(r"(?<![\w/.-])([A-Za-z][\w-]*\.md)\b", text):
        checked += 1
        if m.group(1) not in basenames:
            print(f"{f}: names {m.group(1)}, which is not in the repository")
            bad += 1
print(f"{checked} references checked, {bad} broken")
sys.exit(1 if bad else 0)
PY
