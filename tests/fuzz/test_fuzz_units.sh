#!/usr/bin/env bash
# libFuzzer (ASan + UBSan) for FUZZ_SECONDS on the readers of numeric settings
# (durations, sizes, counts, switches): tests/fuzz/fuzz_units.c, seeds in
# tests/fuzz/corpus/units/. See run_fuzzer.sh.
exec bash "$(dirname "$0")/run_fuzzer.sh" units
