/* work_trace — the trace of work no request started: an SQS message's
 * handler run (lua/consumer.c), a timer's run (lua/timers.c). Each run gets
 * a trace context of its own (a tycho_req_trace_t: what outbound calls and
 * tycho.trace read through its task's rq.trace, so their spans are its
 * children and their traceparent names it), continued from an X-Ray header
 * when one came with the work, else a new trace; sampled by the configured
 * sampler (OTEL_TRACES_SAMPLER) as a request is; and, when sampled and
 * something consumes spans, a root span its caller names. Worker thread
 * (the calling worker's observer, tycho_obs_current()); with no observer
 * (tycho spec, tycho check) the context is made, unsampled, with no span. */
#ifndef TYCHO_CORE_WORK_TRACE_H
#define TYCHO_CORE_WORK_TRACE_H

#include "core/request_obs.h"

/* Fills t: trace id (xray's Root, or a new one), span id, the sampling
 * decision (xray's Sampled as the parent's), hex ids, log context (log_id:
 * the request_id of its log lines, NULL for none; borrowed, as log.h says)
 * and t->span: a root span named name of kind, parented on xray's Parent
 * when it has one, or NULL (not sampled, no span consumer, no memory).
 * Returns t->span, for the caller's attributes. */
tycho_span_t *tycho_work_trace_start(tycho_req_trace_t *t, const tycho_xray_header_t *xray,
                                     const char *name, tycho_span_kind_t kind, const char *log_id);

/* The run failed: error.type error_type, status ERROR with message, and,
 * when traceback is not NULL, a LuaError exception event (message,
 * traceback). Nothing without a span. */
void tycho_work_trace_fail(tycho_req_trace_t *t, const char *error_type, const char *message,
                           const char *traceback);

/* Ends t's span, if any, and hands it to the telemetry thread (t->span is
 * NULL after). Without an observer on this thread the span is freed. */
void tycho_work_trace_finish(tycho_req_trace_t *t);

#endif
