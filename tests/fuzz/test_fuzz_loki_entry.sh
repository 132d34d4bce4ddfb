#!/usr/bin/env bash
# libFuzzer (ASan + UBSan) for FUZZ_SECONDS on the Loki exporter's line
# reader: the fast path for tycho's own lines against the general scan, ids
# checked, each entry encoded: tests/fuzz/fuzz_loki_entry.c, seeds in
# tests/fuzz/corpus/loki_entry/. See run_fuzzer.sh.
exec bash "$(dirname "$0")/run_fuzzer.sh" loki_entry
