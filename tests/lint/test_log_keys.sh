#!/usr/bin/env bash
# The log writer copies the key of an LF_ field (core/log.h: LF_STR("key",
# ...) and the rest, which take string literals only) into the line without
# escaping it, so every such key in the C sources must be plain JSON text:
# letters, digits, '_', '.', '-', at least one. Each use must name its key
# on the same line, so that this finds them all; the one exception is the
# "" of tycho_lf_named(LF_...("", ...), key), whose key is set at run time.
# A literal key is written as it is, never renamed: it must not be time,
# level, msg or service, which every line has already.
set -euo pipefail
SRC=${TYCHO_SRC:-$(cd "$(dirname "$0")/../.." && pwd)}
cd "$SRC"
fails=0
uses=0
while IFS= read -r hit; do
    uses=$((uses + 1))
    where=${hit%%:LF_*}
    key=$(sed -nE 's/^LF_[A-Z]+\(\s*"([^"\\]*)".*/\1/p' <<<"${hit#"$where":}")
    line=$(sed -n "${where#*:}p" "${where%%:*}")
    if [ -z "$key" ] && grep -qE 'tycho_lf_named\(LF_[A-Z]+\(""' <<<"$line"; then
        continue
    fi
    if ! grep -qE '^[A-Za-z0-9_.-]+$' <<<"$key"; then
        echo "not ok - $where: the LF_ key must be a plain literal on the same line: $line"
        fails=$((fails + 1))
    elif grep -qxE 'time|level|msg|service' <<<"$key"; then
        echo "not ok - $where: \"$key\" is a member every line has (a duplicate key): $line"
        fails=$((fails + 1))
    fi
done < <(grep -rnoE 'LF_(STR|STRN|INT|DBL|BOOL|JSON)\([^,]{0,80}' --include='*.c' --include='*.h' server exporters |
    grep -v '^server/core/log.h:')
echo "checked $uses uses of the LF_ macros"
if [ "$uses" -lt 50 ]; then
    echo "not ok - too few uses found: is the search broken?"
    fails=$((fails + 1))
fi
echo "$((uses - fails)) passed, $fails failed"
[ "$fails" -eq 0 ]
