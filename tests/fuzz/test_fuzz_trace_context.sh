#!/usr/bin/env bash
# libFuzzer (ASan + UBSan) for FUZZ_SECONDS on the traceparent, tracestate and
# X-Amzn-Trace-Id parsers, extraction and injection:
# tests/fuzz/fuzz_trace_context.c, seeds in tests/fuzz/corpus/trace_context/. See run_fuzzer.sh.
exec bash "$(dirname "$0")/run_fuzzer.sh" trace_context
