/* exporters — tycho's telemetry shippers: OTLP/HTTP traces, Prometheus
 * remote write (SigV4 for Amazon Managed Prometheus) and Loki push. Each
 * batches by size and time from a bounded queue, sends one request at a
 * time with its protocol's retry rules, and counts what it drops
 * (tycho_telemetry_dropped_total{signal,reason}), what it delivers
 * (tycho_telemetry_exported_total{signal}) and what waits
 * (tycho_telemetry_queue_depth{signal}, added to the rings' depth). All
 * queued telemetry shares one byte budget (TYCHO_TELEMETRY_MAX_BYTES).
 * Configured from the environment (exporters/README.md); with nothing
 * configured nothing is exported and nothing is logged.
 *
 * Threading: everything runs on the telemetry thread's loop: create the
 * object there (or before that loop starts running), and call every function
 * from that thread. Exports never run on a worker. */
#ifndef TYCHO_EXPORTERS_EXPORTERS_H
#define TYCHO_EXPORTERS_EXPORTERS_H

#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "core/buf.h"
#include "core/log.h"
#include "exporters/export_config.h"
#include "telemetry/metrics.h"
#include "telemetry/span.h"

typedef struct tycho_exporters tycho_exporters_t;

/* Reads the configuration and starts the enabled exporters on
 * telemetry_loop. metrics_shard is the registry shard owned by the
 * telemetry thread (the exporters' own counters are written there). NULL
 * with a one-line "VARIABLE: reason" in err on a bad setting (the caller
 * exits 2), or on ENOMEM; an object with nothing enabled when nothing is
 * configured. */
tycho_exporters_t *tycho_exporters_new(uv_loop_t *telemetry_loop, tycho_metrics_t *registry,
                                       unsigned metrics_shard, char *err, size_t errlen);

/* As tycho_exporters_new, with the variables read through env (tests; the
 * hub, which answers TYCHO_LISTEN from the configuration). */
tycho_exporters_t *tycho_exporters_new_env(uv_loop_t *telemetry_loop, tycho_metrics_t *registry,
                                           unsigned metrics_shard, tycho_export_env_fn env,
                                           void *env_ud, char *err, size_t errlen);

/* Whether spans / log lines are wanted at all (the caller may skip the work
 * of producing them when not). */
int tycho_exporters_wants_spans(const tycho_exporters_t *e);
int tycho_exporters_wants_logs(const tycho_exporters_t *e);

/* Queues a finished span. Takes ownership: the span is freed once encoded,
 * or at once when dropped (queue full, byte budget, tracing disabled). */
void tycho_exporters_add_span(tycho_exporters_t *e, tycho_span_t *span);

/* Queues one JSON log line (copied; a trailing newline is ignored). Invalid
 * UTF-8 in it is replaced by U+FFFD on the wire. */
void tycho_exporters_add_log(tycho_exporters_t *e, const char *line, size_t len);
/* The same for a line known to be valid UTF-8 without NUL bytes, such as the
 * log sink's (core/log.h): it is not checked again. meta: tycho_log_write's
 * description of it (the line is then not read at all), or NULL. */
void tycho_exporters_add_log_utf8(tycho_exporters_t *e, const char *line, size_t len,
                                  const tycho_log_meta_t *meta);

/* Appends "exporters":{...}: per exporter whether it is enabled, its
 * endpoint, SigV4 service/region, queued / in_flight / sent / dropped (and
 * dropped_by_reason), requests, retries, last_success, last_error; plus the
 * shared byte budget and its use. */
void tycho_exporters_status_json(tycho_exporters_t *e, tycho_buf_t *out);

/* Items waiting or in flight for one exporter ("traces", "metrics",
 * "logs"); 0 for an unknown or disabled one. */
size_t tycho_exporters_pending(const tycho_exporters_t *e, const char *exporter);

/* Final flush: takes one last metrics snapshot, sends everything queued
 * (retrying only while time is left), and gives up deadline_ms
 * milliseconds from now: what is still unsent then is dropped, counted
 * (reason "shutdown") and reported in one log line. Then every handle is
 * closed and done(ud) runs on the loop (always asynchronously). Call once. */
void tycho_exporters_shutdown(tycho_exporters_t *e, uint64_t deadline_ms, void (*done)(void *ud),
                              void *ud);

/* Gives up now, as the shutdown's deadline does (the shutdown cut short, or
 * none to come: a second signal): everything queued or being sent is
 * dropped, counted (reason "shutdown") and reported in the one "telemetry
 * left unsent at shutdown" line (spans, samples, log_lines); then the
 * handles close, and a shutdown's done(ud) runs as it would have. Once
 * only: nothing more after the first call, or after the shutdown ended. */
void tycho_exporters_cut(tycho_exporters_t *e);

/* Frees e. After done() has run, this is immediate. Without a shutdown (or
 * before its done), queued telemetry is dropped, handles are closed and the
 * memory is released by the last close callback: run the loop once more
 * before closing it. NULL is fine. */
void tycho_exporters_free(tycho_exporters_t *e);

#endif
