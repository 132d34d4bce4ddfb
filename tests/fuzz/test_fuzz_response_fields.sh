#!/usr/bin/env bash
# libFuzzer (ASan + UBSan) for FUZZ_SECONDS on how tycho.http's client reads
# the header lines curl hands it (final response's fields, framing checks):
# tests/fuzz/fuzz_response_fields.c, seeds in tests/fuzz/corpus/response_fields/. See run_fuzzer.sh.
exec bash "$(dirname "$0")/run_fuzzer.sh" response_fields
