/* outbound — what the outbound bindings (tycho.http, tycho.aws, tycho.sqs,
 * tycho.dynamodb) share: the trace context of the task running on a
 * lua_State (its HTTP request's, or the SQS message's for a consumer
 * handler), so CLIENT spans are parented on it and the trace headers carry
 * it. Worker thread only. */
#ifndef TYCHO_LUA_OUTBOUND_H
#define TYCHO_LUA_OUTBOUND_H

#include "aws/services.h"

#include <lua.h>

/* Fills out with the running task's trace and the span to parent an
 * outgoing call on. 1 when there is a trace, 0 otherwise (out->trace NULL). */
int tycho_lua_outbound_parent(lua_State *L, tycho_aws_trace_parent_t *out);

/* The worker's services, or a Lua error naming what is missing. */
tycho_aws_services_t *tycho_lua_services(lua_State *L);

#endif
