#!/usr/bin/env bash
# libFuzzer (ASan + UBSan) for FUZZ_SECONDS on what peers reply that tycho
# decodes itself: Retry-After, AWS error bodies and their redaction, STS XML,
# credential times, ECS task metadata: tests/fuzz/fuzz_peer_replies.c, seeds
# in tests/fuzz/corpus/peer_replies/. See run_fuzzer.sh.
exec bash "$(dirname "$0")/run_fuzzer.sh" peer_replies
