#!/usr/bin/env bash
# The log writer's cost alone (server/core/log.c and the JSON escaper in
# core/buf.c), without a server around it: bench/log_writer/log_writer.c
# writes N pairs of the hello route's lines (the access line and a log.info
# line) into a sink that counts bytes. Prints ns a pair (native, on CPU 0)
# and Ir a pair (callgrind, 100k pairs, with the top functions): a quick loop
# for changes to the writer. A script, not a test.
#   N=2000000 bench/log_writer.sh
set -euo pipefail
cd "$(dirname "$0")/.."
N=${N:-2000000}
command -v valgrind >/dev/null || { echo "valgrind is not installed"; exit 1; }
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
cc -O2 -g -std=gnu11 -Wall -Wextra -Werror -Iserver -o "$out/log_writer" bench/log_writer/log_writer.c \
  server/core/log.c server/core/buf.c server/core/utf8.c
echo "native: $(taskset -c 0 "$out/log_writer" "$N")"
valgrind --tool=callgrind --callgrind-out-file="$out/cg" "$out/log_writer" 100000 >/dev/null 2>"$out/vg"
ir=$(sed -n 's/.*refs: *//p' "$out/vg" | tr -d ,)
echo "callgrind: $((ir / 100000)) Ir a pair (start-up included, ~0.3 %)"
callgrind_annotate --inclusive=no "$out/cg" 2>/dev/null | sed -n '/file:function/,$p' | sed -n 3,12p
