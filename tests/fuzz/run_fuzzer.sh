#!/usr/bin/env bash
# Builds one libFuzzer target of tests/fuzz/fuzz_<name>.c with clang + ASan +
# UBSan (only the sources it needs, no CMake) and runs it for a bounded time on
# its seed corpus tests/fuzz/corpus/<name>/. Any crash, leak, UB report,
# timeout or broken invariant (the target aborts) fails.
#   run_fuzzer.sh <name>    e.g. run_fuzzer.sh router   (the test_fuzz_<name>.sh scripts call it)
#   FUZZ_SECONDS=8          how long to fuzz. The default 8 is CI's smoke run: it replays
#                           the seed and kept corpora, then fuzzes ~2,000 (local_store, the
#                           slowest target) to ~60,000 inputs on a loaded 2-core machine.
#                           For a local or nightly run give more: FUZZ_SECONDS=300 ctest -L fuzz
#   FUZZ_RUNS=N             stop after N executions instead (libFuzzer -runs)
#   FUZZ_ARGS="..."         extra libFuzzer flags (e.g. -jobs=4 -workers=4 for a long local run)
# New inputs are kept in $TYCHO_BUILD/fuzz/corpus-<name>/ between runs; crash
# artifacts go to $TYCHO_BUILD/fuzz/<name>-crash-*, never into the repo.
# To reproduce: $TYCHO_BUILD/fuzz/fuzz_<name> <artifact>.
set -euo pipefail
name=${1:?usage: run_fuzzer.sh <target>}
SRC=${TYCHO_SRC:-$(cd "$(dirname "$0")/../.." && pwd)}
OUT=${TYCHO_BUILD:-$SRC/build}/fuzz
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd) # a relative TYCHO_BUILD is the caller's: the run below cds into OUT
command -v clang >/dev/null || { echo "clang is not installed (scripts/setup installs clang libclang-rt-14-dev)"; exit 1; }

# What each target compiles besides its fuzz_<name>.c, and the pkg-config
# packages it links. Keep these minimal: a target that needs the whole core
# belongs in an integration test, not here.
protos=() # exporters/proto/<name>.proto a target needs compiled
llhttp=0  # 1: links llhttp (Debian node-llhttp), what a target reads HTTP with
case $name in
response_head)
  srcs=(server/http/{exchange,response_head,field,date}.c server/core/{buf,utf8}.c)
  pkgs=()
  llhttp=1
  ;;
router) srcs=(server/router/router.c server/core/{percent,buf,utf8}.c) pkgs=() ;;
json) srcs=(server/lua/lib_json.c server/lua/alloc.c server/core/{buf,utf8}.c) pkgs=(luajit) ;;
query_table)
  srcs=(server/lua/{query_table,url_query,header_value,alloc}.c server/core/{percent,buf,utf8}.c)
  pkgs=(luajit)
  ;;
trace_context) srcs=(server/telemetry/trace_context.c) pkgs=() ;;
response_fields) srcs=(server/net/response_fields.c server/http/field.c server/core/{buf,utf8}.c) pkgs=() ;;
url_parse) srcs=(server/http/{url_parse,url_redact}.c) pkgs=(libcurl) ;;
admin_request) srcs=(server/core/admin_request.c server/http/{host,field,exchange}.c server/core/{buf,utf8}.c) pkgs=() ;;
query_redact) srcs=(server/http/query_redact.c server/core/{percent,buf,utf8}.c) pkgs=() ;;
sigv4) srcs=(server/aws/sigv4.c server/core/{buf,percent,utf8}.c) pkgs=(libcrypto) ;;
local_expr) srcs=(server/aws/local_expr.c server/aws/local_av.c server/core/{buf,utf8}.c) pkgs=(libcjson) ;;
local_store)
  srcs=(server/aws/local_{store,sqs,ddb,expr,av}.c server/core/{config,env_names,cidr,durable_dir,log,buf,units,utf8}.c)
  pkgs=(libcjson sqlite3 libcrypto)
  ;;
units) srcs=(server/core/units.c) pkgs=() ;;
aws_profile) srcs=(server/aws/credentials_profile.c) pkgs=() ;;
client_ip)
  srcs=(server/http/{client_ip,host,field,exchange}.c server/core/{config,env_names,cidr,log,buf,units,utf8}.c)
  pkgs=()
  ;;
config_load) srcs=(server/core/config.c server/core/env_names.c server/core/cidr.c server/core/log.c server/core/{buf,units,utf8}.c) pkgs=() ;;
config) srcs=(server/core/config.c server/core/env_names.c server/core/cidr.c server/core/log.c server/core/{buf,units,utf8}.c) pkgs=() ;;
loki_entry)
  srcs=(exporters/{loki_encode,export_arena,export_snappy,pb_write}.c server/core/{buf,utf8}.c)
  pkgs=(snappy)
  ;;
otlp_encode | otlp_response) # the encoder, and the reading of the receiver's answer
  srcs=(exporters/{otlp_encode,export_arena,pb_write}.c server/telemetry/{span,span_pool,trace_context,prometheus_text}.c server/core/{buf,utf8}.c)
  pkgs=(libprotobuf-c libcjson)
  protos=(otlp_trace)
  ;;
export_config)
  srcs=(exporters/export_config.c server/aws/{endpoint,credentials_profile}.c server/http/url_redact.c
    server/core/{log,percent,units,buf,utf8}.c)
  pkgs=()
  ;;
peer_replies)
  srcs=(exporters/{export_retry,ecs_resource,export_config}.c
    server/aws/{error_text,client,credentials,credentials_http,credentials_profile,endpoint,sigv4}.c
    server/net/{http_client,response_fields}.c server/http/{url_redact,field}.c
    server/core/{buf,prng,config,log,units,utf8,percent,ratelog,env_names,cidr}.c)
  pkgs=(libcjson libuv libcurl libcrypto)
  ;;
*) echo "run_fuzzer.sh: unknown target '$name'"; exit 2 ;;
esac

mkdir -p "$OUT/corpus-$name"
bin=$OUT/fuzz_$name
pc=()
[ ${#pkgs[@]} -gt 0 ] && read -ra pc <<<"$(pkg-config --cflags --libs "${pkgs[@]}")"
# rebuilt when anything under server/, exporters/ or the target changed since the last build
if [ ! -x "$bin" ] || [ -n "$(find "$SRC/server" "$SRC/exporters" "$SRC/tests/fuzz/fuzz_$name.c" "$0" -newer "$bin" -print -quit)" ]; then
  # the schemas a target decodes with, compiled by protoc-c as CMake does
  gen=()
  for proto in "${protos[@]}"; do
    command -v protoc-c >/dev/null || { echo "protoc-c is not installed (scripts/setup installs protobuf-c-compiler)"; exit 1; }
    mkdir -p "$OUT/proto"
    protoc-c --proto_path="$SRC/exporters/proto" --c_out="$OUT/proto" "$SRC/exporters/proto/$proto.proto"
    gen+=("$OUT/proto/$proto.pb-c.c")
  done
  # llhttp's generated C, compiled with its own relaxed warnings
  if [ "$llhttp" = 1 ]; then
    for f in llhttp api http; do
      clang -g -O1 -fsanitize=fuzzer-no-link,address,undefined -w -c "/usr/share/llhttp/$f.c" \
        -I/usr/share/include/llhttp -o "$OUT/llhttp-$f.o"
      gen+=("$OUT/llhttp-$f.o")
    done
  fi
  clang -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined -std=gnu11 \
    -Wall -Wextra -Werror -Wshadow -I"$SRC/server" -I"$SRC" -I"$OUT/proto" -I/usr/share/include/llhttp \
    "$SRC/tests/fuzz/fuzz_$name.c" "${srcs[@]/#/$SRC/}" "${gen[@]}" "${pc[@]}" -lm -lpthread -o "$bin"
fi

limit=(-max_total_time="${FUZZ_SECONDS:-8}")
[ -n "${FUZZ_RUNS:-}" ] && limit=(-runs="$FUZZ_RUNS")
read -ra extra <<<"${FUZZ_ARGS:-}"
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
cd "$OUT"
set +e
"$bin" "${limit[@]}" -max_len=8192 -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
  -artifact_prefix="$OUT/$name-" "${extra[@]}" "$OUT/corpus-$name" "$SRC/tests/fuzz/corpus/$name" 2>&1 |
  grep -v -E '^(#[0-9]+\s+(NEW|REDUCE|pulse)|"|###### |\s+NEW_FUNC)' | tail -n 60
rc=${PIPESTATUS[0]}
set -e
[ "$rc" -eq 0 ] && echo "fuzz $name: no crash" || echo "fuzz $name: FAILED (rc $rc), artifacts in $OUT/$name-*"
exit "$rc"
