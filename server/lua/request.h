/* request — the `req` object handed to a handler: a userdata whose fields are
 * built lazily on first access and then cached (method, path, query, params,
 * headers, body, client_ip, id, route; req:json()). Handlers may also store
 * their own fields on it. Once the request has ended, fields not read before
 * raise "request is finished". Worker thread only. */
#ifndef TYCHO_LUA_REQUEST_H
#define TYCHO_LUA_REQUEST_H

#include "core/config.h"
#include "http/exchange.h"
#include "router/router.h"

#include <lua.h>
#include <stdint.h>

struct tycho_lua_route;
struct tycho_lua_task;

typedef struct tycho_lua_reqctx {
    tycho_exchange_t *x; /* NULL once finished or cancelled */
    const struct tycho_lua_route *route;
    tycho_route_match_t match;
    const tycho_config_t *cfg;
    /* tasks without an exchange (SQS consumer handlers): their trace context */
    struct tycho_req_trace *trace;
} tycho_lua_reqctx_t;

/* Creates the metatables in L's registry (once per state); returns the
 * registry ref of req's metatable (gen->req_mt_ref). */
int tycho_lua_request_init(lua_State *L);
/* Pushes the req object of task t (its rq must be filled) onto co. */
void tycho_lua_request_push(lua_State *co, struct tycho_lua_task *t);

#endif
