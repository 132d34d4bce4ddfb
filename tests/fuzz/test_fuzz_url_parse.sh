#!/usr/bin/env bash
# libFuzzer (ASan + UBSan) for FUZZ_SECONDS on the URL parser of tycho.http,
# checked against its re-joined parts and against libcurl's curl_url:
# tests/fuzz/fuzz_url_parse.c, seeds in tests/fuzz/corpus/url_parse/. See run_fuzzer.sh.
exec bash "$(dirname "$0")/run_fuzzer.sh" url_parse
