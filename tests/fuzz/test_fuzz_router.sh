#!/usr/bin/env bash
# libFuzzer (ASan + UBSan) for FUZZ_SECONDS on the route-pattern parser and the
# router (insert, match, allow) against a reference matcher:
# tests/fuzz/fuzz_router.c, seeds in tests/fuzz/corpus/router/. See run_fuzzer.sh.
exec bash "$(dirname "$0")/run_fuzzer.sh" router
