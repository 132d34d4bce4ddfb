#!/usr/bin/env bash
# libFuzzer (ASan + UBSan) for FUZZ_SECONDS on the whole reading of tycho
# serve's settings (TYCHO_* variables and flags, tycho_config_load):
# tests/fuzz/fuzz_config_load.c, seeds in tests/fuzz/corpus/config_load/.
# See run_fuzzer.sh.
exec bash "$(dirname "$0")/run_fuzzer.sh" config_load
