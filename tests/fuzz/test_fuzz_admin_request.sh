#!/usr/bin/env bash
# libFuzzer (ASan + UBSan) for FUZZ_SECONDS on the admin listener's checks of
# a request's head (Host, web-page reloads, plain paths, the page asked for):
# tests/fuzz/fuzz_admin_request.c, seeds in tests/fuzz/corpus/admin_request/.
# See run_fuzzer.sh.
exec bash "$(dirname "$0")/run_fuzzer.sh" admin_request
