#!/usr/bin/env bash
# libFuzzer (ASan + UBSan) for FUZZ_SECONDS on tycho.json: decode -> encode ->
# decode stability inside a Lua state, under a memory limit too:
# tests/fuzz/fuzz_json.c, seeds in tests/fuzz/corpus/json/. See run_fuzzer.sh.
exec bash "$(dirname "$0")/run_fuzzer.sh" json
