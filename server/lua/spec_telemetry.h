/* spec_telemetry — `tycho spec` runs the telemetry code a serve worker runs:
 * a hub with one worker and worker 0's observer on the spec thread, so
 * tycho.metrics and tycho.trace bind exactly as in serve; tycho.test's
 * in-process requests go through the observer (server span, built-in HTTP
 * metrics, trace context from traceparent / X-Amzn-Trace-Id); the spans they
 * finish stay queued (up to the ring's 4096; more are dropped and counted)
 * for tycho.test.spans(). The access log is off unless TYCHO_ACCESS_LOG is
 * set. Spec thread only. */
#ifndef TYCHO_LUA_SPEC_TELEMETRY_H
#define TYCHO_LUA_SPEC_TELEMETRY_H

#include "core/config.h"
#include "http/exchange.h"

#include <lua.h>
#include <stddef.h>

/* Before the runtime is created (its routes register metrics at load).
 * 0, or -1 with a one-line err. */
int tycho_spec_telemetry_start(const tycho_config_t *cfg, char *err, size_t errlen);
/* After the runtime is freed. */
void tycho_spec_telemetry_stop(void);

/* inner wrapped by the observer (inner itself when not started). */
tycho_handler_t tycho_spec_telemetry_wrap(tycho_handler_t inner);
/* The exchange was answered (what the HTTP server's observer hears). */
void tycho_spec_telemetry_answered(const tycho_exchange_t *x);

/* tycho.test.spans(): the spans finished since the last call, oldest first,
 * as tables { name, kind, trace_id, span_id, parent_span_id, parent_is_remote,
 * sampled, trace_state, status, status_message, start, duration, attributes,
 * events = { { name, attributes } } }; they are freed. */
int tycho_spec_telemetry_spans(lua_State *L);

#endif
