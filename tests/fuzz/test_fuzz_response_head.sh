#!/usr/bin/env bash
# libFuzzer (ASan + UBSan) for FUZZ_SECONDS on a handler's headers on their
# way to the wire (tycho_response_add_header, tycho_response_head), read back
# by llhttp: tests/fuzz/fuzz_response_head.c, seeds in
# tests/fuzz/corpus/response_head/. See run_fuzzer.sh.
exec bash "$(dirname "$0")/run_fuzzer.sh" response_head
