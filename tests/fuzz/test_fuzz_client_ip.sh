#!/usr/bin/env bash
# libFuzzer (ASan + UBSan) for FUZZ_SECONDS on the client address, scheme and
# host a request gives through trusted proxies (X-Forwarded-For, -Proto,
# -Host): tests/fuzz/fuzz_client_ip.c, seeds in tests/fuzz/corpus/client_ip/.
# See run_fuzzer.sh.
exec bash "$(dirname "$0")/run_fuzzer.sh" client_ip
