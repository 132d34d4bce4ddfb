#!/usr/bin/env bash
# libFuzzer (ASan + UBSan) for FUZZ_SECONDS on the exporters' settings: the
# whole environment load (URLs, OTEL_EXPORTER_OTLP_HEADERS,
# OTEL_RESOURCE_ATTRIBUTES, TYCHO_LOKI_LABELS, ...) and the k=v list, URL and
# AWS host parsers: tests/fuzz/fuzz_export_config.c, seeds in
# tests/fuzz/corpus/export_config/. See run_fuzzer.sh.
exec bash "$(dirname "$0")/run_fuzzer.sh" export_config
