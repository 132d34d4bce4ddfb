#!/usr/bin/env bash
# libFuzzer (ASan + UBSan) for FUZZ_SECONDS on the whole local AWS executor on
# arbitrary SQS/DynamoDB request bodies (temporary SQLite store):
# tests/fuzz/fuzz_local_store.c, seeds in tests/fuzz/corpus/local_store/. See run_fuzzer.sh.
exec bash "$(dirname "$0")/run_fuzzer.sh" local_store
