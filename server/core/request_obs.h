/* request_obs — what every request produces besides its response, on the
 * worker's thread: a server span (context continued from traceparent or
 * X-Amzn-Trace-Id, sampled per OTEL_TRACES_SAMPLER), the built-in metric
 * updates and one access-log line, all carrying the same trace id. One
 * tycho_obs_t per worker; it wraps the app's handler and observes the HTTP
 * server. Bindings (Lua tycho.trace, outbound calls) reach the running
 * request's context through tycho_obs_trace(x) and make child spans. */
#ifndef TYCHO_REQUEST_OBS_H
#define TYCHO_REQUEST_OBS_H

#include "core/log.h"
#include "core/telemetry_hub.h"
#include "http/exchange.h"
#include "telemetry/trace_context.h"

typedef struct tycho_obs tycho_obs_t;

/* A request's trace context (x->telemetry). */
typedef struct tycho_req_trace {
    uint8_t trace_id[16];
    uint8_t span_id[8]; /* the server span's id (always set, sampled or not) */
    uint8_t flags;      /* W3C trace flags we propagate (bit 0 = sampled) */
    int sampled;
    tycho_span_t *span; /* the server span; NULL when not sampled */
    tycho_tracestate_t tracestate;
    tycho_xray_header_t xray; /* incoming X-Amzn-Trace-Id: Lineage and extras carry on */
    char trace_hex[33], span_hex[17];
    tycho_log_context_t logctx; /* request_id, trace_id, span_id for log lines */
    int error;                  /* a handler error was recorded (status ERROR even if < 500) */
} tycho_req_trace_t;

tycho_obs_t *tycho_obs_new(tycho_hub_t *hub, const tycho_config_t *cfg, int worker_id);
void tycho_obs_free(tycho_obs_t *o);
/* The handler that starts observation, then runs inner. */
tycho_handler_t tycho_obs_wrap(tycho_obs_t *o, tycho_handler_t inner);
/* The HTTP server observer (http/server.h) that ends it. */
void tycho_obs_on_response(void *ud, const tycho_exchange_t *x, size_t bytes_in, size_t bytes_out,
                           const char *cut);
/* Per-worker gauges/counters from the server's and the app's stats (call
 * periodically on the worker thread). */
void tycho_obs_sync(tycho_obs_t *o, const void *http_stats, size_t lua_memory);

/* The calling worker thread's observer (NULL elsewhere: spec runs, check). */
tycho_obs_t *tycho_obs_current(void);
tycho_req_trace_t *tycho_obs_trace(const tycho_exchange_t *x);
unsigned tycho_obs_shard(const tycho_obs_t *o);
tycho_metrics_t *tycho_obs_registry(const tycho_obs_t *o);
tycho_hub_t *tycho_obs_hub(const tycho_obs_t *o); /* sampler, span limits (SQS consumers) */
/* Marks the request's span as failed with an exception event (Lua errors). */
void tycho_obs_record_error(tycho_exchange_t *x, const char *message, const char *stacktrace);

/* A span with the hub's limits, its block from this worker's pool (the
 * worker's thread); NULL on ENOMEM. Ids unset (tycho_span_set_ids). */
tycho_span_t *tycho_obs_span_new(tycho_obs_t *o, const char *name, tycho_span_kind_t kind);
/* A child span of parent_span_id in the request's trace, started now; NULL
 * when the trace is not sampled (then skip attributes and just run). */
tycho_span_t *tycho_obs_span_start(tycho_obs_t *o, const tycho_req_trace_t *t,
                                   const uint8_t parent_span_id[8], const char *name,
                                   tycho_span_kind_t kind);
/* Ends the span and hands it to the telemetry thread (dropped and counted
 * when the ring is full). Takes ownership. */
void tycho_obs_span_finish(tycho_obs_t *o, tycho_span_t *span);

#endif
