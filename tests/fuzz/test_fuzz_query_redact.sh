#!/usr/bin/env bash
# libFuzzer (ASan + UBSan) for FUZZ_SECONDS on the query-string redaction of
# signed URLs' credentials: tests/fuzz/fuzz_query_redact.c, seeds in
# tests/fuzz/corpus/query_redact/. See run_fuzzer.sh.
exec bash "$(dirname "$0")/run_fuzzer.sh" query_redact
