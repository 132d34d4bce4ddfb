#!/usr/bin/env bash
# libFuzzer (ASan + UBSan) for FUZZ_SECONDS on the TYCHO_LISTEN /
# TYCHO_TRUSTED_PROXIES parsers and the trusted-proxy check:
# tests/fuzz/fuzz_config.c, seeds in tests/fuzz/corpus/config/. See run_fuzzer.sh.
exec bash "$(dirname "$0")/run_fuzzer.sh" config
