#!/usr/bin/env bash
# libFuzzer (ASan + UBSan) for FUZZ_SECONDS on the reader of the shared AWS
# files ~/.aws/config and ~/.aws/credentials: tests/fuzz/fuzz_aws_profile.c,
# seeds in tests/fuzz/corpus/aws_profile/. See run_fuzzer.sh.
exec bash "$(dirname "$0")/run_fuzzer.sh" aws_profile
