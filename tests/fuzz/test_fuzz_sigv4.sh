#!/usr/bin/env bash
# libFuzzer (ASan + UBSan) for FUZZ_SECONDS on the SigV4 canonicaliser (URI,
# query, headers) and the signing path:
# tests/fuzz/fuzz_sigv4.c, seeds in tests/fuzz/corpus/sigv4/. See run_fuzzer.sh.
exec bash "$(dirname "$0")/run_fuzzer.sh" sigv4
