#!/usr/bin/env bash
# Builds the HTTP request fuzzer with clang + libFuzzer + ASan/UBSan and runs
# it for a bounded time on the seed corpus; any crash, leak, UB report or
# split-dependent result fails the test.
#   FUZZ_SECONDS=15   how long to fuzz (default 15, CI's smoke run: the corpora
#                     and ~100,000 new inputs; FUZZ_SECONDS=300 for a local or nightly run)
#   FUZZ_RUNS=N       stop after N executions instead (libFuzzer -runs)
# Crash artifacts go to $TYCHO_BUILD/fuzz/, never into the repo.
set -euo pipefail
SRC=${TYCHO_SRC:-$(cd "$(dirname "$0")/../.." && pwd)}
OUT=${TYCHO_BUILD:-$SRC/build}/fuzz
mkdir -p "$OUT/corpus"
command -v clang >/dev/null || { echo "clang is not installed (scripts/setup installs clang libclang-rt-14-dev)"; exit 1; }

bin=$OUT/fuzz_http_request
flags=(-g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined -std=gnu11
  -DLLHTTP_STRICT_MODE=1 -I/usr/share/include/llhttp -I"$SRC/server" -I"$SRC")
srcs=("$SRC/tests/fuzz/fuzz_http_request.c" "$SRC"/server/http/{parser,host,block_pool,response_head,request_id,exchange,field,date}.c
  "$SRC"/server/core/{buf,prng,utf8}.c)
# llhttp (Debian node-llhttp) compiled with its own relaxed warnings
for f in llhttp api http; do
  if [ ! -f "$OUT/$f.o" ] || [ "/usr/share/llhttp/$f.c" -nt "$OUT/$f.o" ]; then
    clang "${flags[@]/-fsanitize=fuzzer,address,undefined/-fsanitize=fuzzer-no-link,address,undefined}" -w \
      -c "/usr/share/llhttp/$f.c" -o "$OUT/$f.o"
  fi
done
clang "${flags[@]}" -Wall -Wextra -Werror "${srcs[@]}" "$OUT"/{llhttp,api,http}.o -o "$bin"

limit=(-max_total_time="${FUZZ_SECONDS:-15}")
[ -n "${FUZZ_RUNS:-}" ] && limit=(-runs="$FUZZ_RUNS")
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
cd "$OUT"
"$bin" "${limit[@]}" -max_len=4096 -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
  -artifact_prefix="$OUT/" "$OUT/corpus" "$SRC/tests/fuzz/corpus/http_request" 2>&1 | tail -n 40
rc=${PIPESTATUS[0]}
[ "$rc" -eq 0 ] && echo "fuzz: no crash" || echo "fuzz: FAILED (rc $rc), artifacts in $OUT"
exit "$rc"
