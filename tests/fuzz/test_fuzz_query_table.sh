#!/usr/bin/env bash
# libFuzzer (ASan + UBSan) for FUZZ_SECONDS on req.query (a client's query
# string as a Lua table) and its round trip through tycho.http's query
# option: tests/fuzz/fuzz_query_table.c, seeds in
# tests/fuzz/corpus/query_table/. See run_fuzzer.sh.
exec bash "$(dirname "$0")/run_fuzzer.sh" query_table
