#!/usr/bin/env bash
# libFuzzer (ASan + UBSan) for FUZZ_SECONDS on the local DynamoDB expression
# parser/evaluator and AttributeValue numbers and base64:
# tests/fuzz/fuzz_local_expr.c, seeds in tests/fuzz/corpus/local_expr/. See run_fuzzer.sh.
exec bash "$(dirname "$0")/run_fuzzer.sh" local_expr
