#!/usr/bin/python3
"""Run the file-writing heredocs of a README's shell recipes.

usage: readme_heredocs.py README OUTDIR

For every `cat > PATH <<DELIM` in a ```sh block of README, runs that command
(with bash, in the current directory) with PATH replaced by OUTDIR/<name of
PATH>, so the caller can check the files the recipe would write (e.g.
`promtool check config`). Prints one line per file written.

A quoted delimiter (<<'EOF', <<"EOF") keeps `$` literal: a quoted heredoc
whose body holds a `$` is reported as an error, since a recipe that means
"$PWD" then writes the four characters instead of the directory.

Exit status: 0, 1 on a quoted heredoc with `$` or a failing command, 2 on
usage errors or a README without such heredocs.
"""
import os
import re
import subprocess
import sys

HEREDOC = re.compile(r"^cat > (\S+) <<-?(['\"]?)(\w+)\2\s*$")


def sh_blocks(text):
    """The lines of each ```sh block."""
    for m in re.finditer(r"^```(?:sh|bash)\n(.*?)^```", text, re.M | re.S):
        yield m.group(1).splitlines()


def heredocs(text):
    """(path, quoted, delimiter, body lines) for each `cat > PATH <<DELIM`."""
    for lines in sh_blocks(text):
        i = 0
        while i < len(lines):
            m = HEREDOC.match(lines[i])
            i += 1
            if not m:
                continue
            body = []
            while i < len(lines) and lines[i] != m.group(3):
                body.append(lines[i])
                i += 1
            i += 1
            yield m.group(1), bool(m.group(2)), m.group(3), body


def main(argv):
    if len(argv) != 3:
        print(__doc__.strip(), file=sys.stderr)
        return 2
    readme, outdir = argv[1], argv[2]
    with open(readme, encoding="utf-8") as f:
        docs = list(heredocs(f.read()))
    if not docs:
        print(f"{readme}: no `cat > FILE <<DELIM` in a sh block", file=sys.stderr)
        return 2
    rc = 0
    for path, quoted, delim, body in docs:
        if quoted and any("$" in line for line in body):
            print(f"{readme}: the heredoc writing {path} is quoted (<<'{delim}'): "
                  "its $ are not expanded", file=sys.stderr)
            rc = 1
            continue
        out = os.path.join(outdir, os.path.basename(path))
        q = "'" if quoted else ""
        script = f"cat > '{out}' <<{q}{delim}{q}\n" + "\n".join(body) + f"\n{delim}\n"
        if subprocess.run(["bash", "-euc", script]).returncode != 0:
            print(f"{readme}: the heredoc writing {path} failed", file=sys.stderr)
            rc = 1
            continue
        print(out)
    return rc


if __name__ == "__main__":
    sys.exit(main(sys.argv))
