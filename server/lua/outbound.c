#include "lua/outbound.h"

#include "lua/scheduler.h"

#include <lauxlib.h>
#include <string.h>

int tycho_lua_outbound_parent(lua_State *L, tycho_aws_trace_parent_t *out)
{
    (void)L;
    memset(out, 0, sizeof *out);
    tycho_lua_task_t *t = tycho_lua_task_current();
    if (!t) return 0;
    const tycho_req_trace_t *tr = t->rq.x ? tycho_obs_trace(t->rq.x) : t->rq.trace;
    if (!tr) return 0;
    out->trace = tr;
    memcpy(out->parent_span_id, tr->span_id, 8);
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
