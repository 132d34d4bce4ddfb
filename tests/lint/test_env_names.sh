#!/usr/bin/env bash
# server/core/env_names.c lists the TYCHO_* variables tycho reads, so that a
# misspelt one (TYCHO_WORKER) stops start-up instead of leaving its setting
# at the default unseen. The list must hold every "TYCHO_..." string literal
# of the C sources (each one is a variable some module reads: the settings
# table, getenv, tycho_config_env_trimmed), and nothing else: a name the
# code no longer reads would hide a slip for another.
set -euo pipefail
SRC=${TYCHO_SRC:-$(cd "$(dirname "$0")/../.." && pwd)}
cd "$SRC"
LIST=server/core/env_names.c
fails=0
listed=$(grep -oE '^\s+"TYCHO_[A-Z0-9_]+",' "$LIST" | tr -d ' ",' | sort)
read_by_code=$(grep -rloE '"TYCHO_[A-Z0-9_]+"' --include='*.c' --include='*.h' server exporters |
    grep -vx "$LIST" | xargs grep -hoE '"TYCHO_[A-Z0-9_]+"' | tr -d '"' | sort -u)
for name in $read_by_code; do
    if ! grep -qx "$name" <<<"$listed"; then
        echo "not ok - $name is read by the code but not listed in $LIST"
        fails=$((fails + 1))
    fi
done
for name in $listed; do
    if ! grep -qx "$name" <<<"$read_by_code"; then
        echo "not ok - $name is listed in $LIST but no source reads it"
        fails=$((fails + 1))
    fi
done
n=$(wc -w <<<"$listed")
echo "checked $n listed names against $(wc -w <<<"$read_by_code") read by the sources"
if [ "$n" -lt 40 ]; then
    echo "not ok - too few names found in $LIST: is the search broken?"
    fails=$((fails + 1))
fi
echo "$fails failed"
[ "$fails" -eq 0 ]
