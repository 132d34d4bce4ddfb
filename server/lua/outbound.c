#include "lua/outbound.h"

#include "lua/trace_api.h"

#include <lauxlib.h>
#include <string.h>

/* The request's (or SQS message's) trace, parented on the innermost active
 * span: a tycho.trace.span the Lua code is inside, else the server or
 * consumer span (trace_api.h). */
int tycho_lua_outbound_parent(lua_State *L, tycho_aws_trace_parent_t *out)
{
    memset(out, 0, sizeof *out);
    const tycho_req_trace_t *t = NULL;
    if (tycho_lua_trace_current(L, &t, out->parent_span_id) != 0 || !t) {
        out->trace = NULL;
        return 0;
    }
    out->trace = t;
    return 1;
}

tycho_aws_services_t *tycho_lua_services(lua_State *L)
{
    tycho_aws_services_t *s = tycho_aws_services_current();
    if (!s)
        luaL_error(L, "outbound calls are not available here (no services on this thread: "
                      "they exist in `tycho serve` workers and `tycho spec`)");
    return s;
}
