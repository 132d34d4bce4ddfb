/* telemetry_hub — the process's telemetry plumbing: the metrics registry
 * (one shard per worker + one for the telemetry thread), the built-in metric
 * families, the span rings (one per worker), the sampler, the log sink, and
 * what drains them on the telemetry thread (the admin thread's loop).
 * Created on the main thread before workers start; tycho_hub_start/stop run
 * on the telemetry thread; workers reach it through their tycho_obs_t.
 * Free it only after the workers and the telemetry thread are joined: spans
 * still out (in Lua states, exporters) give their blocks back to its pools. */
#ifndef TYCHO_TELEMETRY_HUB_H
#define TYCHO_TELEMETRY_HUB_H

#include "core/buf.h"
#include "core/config.h"
#include "telemetry/dropcount.h"
#include "telemetry/metrics.h"
#include "telemetry/ring.h"
#include "telemetry/sampler.h"
#include "telemetry/span.h"

#include <uv.h>

typedef struct tycho_hub_families {
    tycho_metric_t *requests, *duration, *request_size, *response_size, *in_flight;
    tycho_metric_t *requests_cut; /* route, reason (tycho_http_cut_reasons) */
    tycho_metric_t *conns_open, *conns_accepted, *conns_closed, *send_timeouts, *lua_memory;
    tycho_metric_t *reloads, *generation, *reload_ok, *reload_ok_time;
} tycho_hub_families_t;

typedef struct tycho_hub tycho_hub_t;

/* NULL + a one-line error naming the setting (OTEL_TRACES_SAMPLER, ...). */
tycho_hub_t *tycho_hub_new(const tycho_config_t *cfg, int nworkers, char *err, size_t errlen);
void tycho_hub_free(tycho_hub_t *h);

tycho_metrics_t *tycho_hub_registry(tycho_hub_t *h);
const tycho_hub_families_t *tycho_hub_families(tycho_hub_t *h);
tycho_dropcount_t *tycho_hub_drops(tycho_hub_t *h);
const tycho_sampler_t *tycho_hub_sampler(tycho_hub_t *h);
const tycho_span_limits_t *tycho_hub_span_limits(tycho_hub_t *h);
tycho_ring_t *tycho_hub_span_ring(tycho_hub_t *h, int worker_id);
/* Worker worker_id's span blocks (tycho_span_new_from on that worker's
 * thread; spans go back from any thread). Lives until tycho_hub_free. */
tycho_span_pool_t *tycho_hub_span_pool(tycho_hub_t *h, int worker_id);
/* Worker worker_id pushed a span to its ring (that worker's thread): wakes
 * the telemetry thread once every TYCHO_HUB_WAKE_EVERY spans, not for each
 * one (a wake-up costs the worker a write(2) and the telemetry thread a loop
 * iteration); the drain timer takes what is left between wake-ups. */
#define TYCHO_HUB_WAKE_EVERY 256
void tycho_hub_span_pushed(tycho_hub_t *h, int worker_id);
unsigned tycho_hub_telemetry_shard(tycho_hub_t *h);
int tycho_hub_access_log(const tycho_hub_t *h);
/* 0 when nothing consumes spans (no OTLP exporter, no stdout sink): workers
 * then propagate and log trace context without building span objects. */
int tycho_hub_spans_wanted(tycho_hub_t *h);

/* Telemetry thread: routes log lines through the non-blocking sink, starts
 * draining spans. 0 or a negative uv error. */
int tycho_hub_start(tycho_hub_t *h, uv_loop_t *loop);
/* The least time the exporters' final flush gets, even when the drain used
 * all of TYCHO_DRAIN_TIMEOUT: one more try of what is queued. */
#define TYCHO_HUB_FLUSH_FLOOR_MS 1000
/* Telemetry thread: drains what is queued, logs the span ring drops
 * tycho_hub_log_ring_drops held back, flushes the exporters (for
 * drain_left_ms — what the drain left of its timeout — or
 * TYCHO_HUB_FLUSH_FLOOR_MS if more) and then logs (2 s at most, and within
 * that same deadline: lines stdout has not taken by then are dropped and
 * added to tycho_log_lines_lost), restores direct stdout logging, closes
 * its handles. */
void tycho_hub_stop(tycho_hub_t *h, uint64_t drain_left_ms);
/* Any thread (a second signal, which then exits): the telemetry still
 * queued is given up now, as the stop's deadline gives it up: the spans in
 * the workers' rings and everything the exporters hold are dropped, counted
 * (tycho_telemetry_dropped_total{reason="shutdown"}) and reported in the
 * exporters' one "telemetry left unsent at shutdown" line, which is flushed
 * to stdout with the lines queued before it. Waits for that up to wait_ms;
 * returns at once when the telemetry thread has stopped, or a cut was
 * asked already. */
void tycho_hub_cut(tycho_hub_t *h, unsigned wait_ms);
/* Telemetry thread (the drain timer, every DRAIN_INTERVAL_MS; tests): the
 * spans the workers dropped for a full ring since the last look, logged as
 * "span ring full: dropping spans" with dropped (since the last line) and
 * dropped_total at the first drop, then at most once every
 * TYCHO_LOG_EVERY_MS of now_ms (the loop's clock). */
void tycho_hub_log_ring_drops(tycho_hub_t *h, uint64_t now_ms);
/* Telemetry thread: the Prometheus text exposition of every metric. */
int tycho_hub_render_metrics(tycho_hub_t *h, tycho_buf_t *out);
/* Appends `,"telemetry":{...}` (queue depths, drops, spans handled). */
void tycho_hub_status_json(tycho_hub_t *h, tycho_buf_t *out);
/* The public listener's port once bound (an ephemeral one is known only
 * then): the default remote-write instance label takes it. Main thread,
 * before tycho_hub_start. */
void tycho_hub_set_listen_port(tycho_hub_t *h, int port);
/* Main thread: the first generation serves (start-up): the generation
 * gauge, and the routes' last successful load is now. */
void tycho_hub_routes_started(tycho_hub_t *h, uint64_t generation);
/* Main thread: counts a reload outcome, sets the generation served, whether
 * the last reload succeeded and, when it did, its time. */
void tycho_hub_record_reload(tycho_hub_t *h, int ok, uint64_t generation);

#endif
