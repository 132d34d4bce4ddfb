#!/usr/bin/env bash
# libFuzzer (ASan + UBSan) for FUZZ_SECONDS on the OTLP trace encoder over
# spans built from the input: every body must decode (protobuf-c), equal what
# protobuf-c packs for it, and give back each span's fields and attributes:
# tests/fuzz/fuzz_otlp_encode.c, seeds in tests/fuzz/corpus/otlp_encode/. See
# run_fuzzer.sh.
exec bash "$(dirname "$0")/run_fuzzer.sh" otlp_encode
