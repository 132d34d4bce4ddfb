/* trace_api — the running request's trace context for C bindings that work on
 * behalf of a request coroutine (tycho.http, the AWS bindings): to parent a
 * CLIENT span on the innermost active span (the server span, or the
 * tycho.trace.span the Lua code is inside) and to inject traceparent /
 * X-Amzn-Trace-Id. Worker thread, from a binding called by Lua.
 *
 *   const tycho_req_trace_t *t;
 *   uint8_t parent[8];
 *   if (tycho_lua_trace_current(L, &t, parent) == 0) {
 *       tycho_span_t *s = tycho_obs_span_start(tycho_obs_current(), t, parent, "GET",
 *                                              TYCHO_SPAN_KIND_CLIENT); // NULL: not sampled
 *       uint8_t id[8]; // the id to send as the parent: the CLIENT span's, else parent
 *       memcpy(id, s ? s->span_id : parent, 8);
 *       tycho_trace_headers_t h;
 *       tycho_trace_inject(t->trace_id, id, t->flags, &t->tracestate, &t->xray, &h);
 *       ... when the call ends: tycho_obs_span_finish(tycho_obs_current(), s);
 *   }
 *
 * t stays valid while the request runs (until its coroutine ends); copy what
 * a callback needs after a yield rather than keeping t. */
#ifndef TYCHO_LUA_TRACE_API_H
#define TYCHO_LUA_TRACE_API_H

#include "core/request_obs.h"

#include <lua.h>
#include <stdint.h>

/* 0 with *t (the request's trace context) and parent_span_id (the innermost
 * active span: a tycho.trace.span's id, else the server span's), for a call
 * made by a request's task; -1 (and *t = NULL) elsewhere: module load time,
 * tycho spec outside a request, a request that has no trace context.
 * Unsampled requests answer 0 too: their ids propagate all the same. */
int tycho_lua_trace_current(lua_State *L, const tycho_req_trace_t **t, uint8_t parent_span_id[8]);

#endif
