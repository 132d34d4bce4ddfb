#!/usr/bin/env bash
# libFuzzer (ASan + UBSan) for FUZZ_SECONDS on the OTLP exporter's reading of
# a receiver's ExportTraceServiceResponse (partial success), checked against
# protobuf-c: tests/fuzz/fuzz_otlp_response.c, seeds in
# tests/fuzz/corpus/otlp_response/. See run_fuzzer.sh.
exec bash "$(dirname "$0")/run_fuzzer.sh" otlp_response
