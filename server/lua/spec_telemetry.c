#include "lua/spec_telemetry.h"

#include "core/request_obs.h"
#include "core/telemetry_hub.h"
#include "telemetry/ring.h"
#include "telemetry/span.h"
#include "telemetry/trace_context.h"

#include <lauxlib.h>
#include <stdio.h>
#include <stdlib.h>

static tycho_config_t spec_cfg; /* the observer keeps a pointer to its config */
static tycho_hub_t *hub;
static tycho_obs_t *obs;

int tycho_spec_telemetry_start(const tycho_config_t *cfg, char *err, size_t errlen)
{
    spec_cfg = *cfg;
    /* one access line per tycho.test.request would flood every spec's stderr
     * (and its captured logs): opt in with TYCHO_ACCESS_LOG */
    if (!tycho_config_getenv("TYCHO_ACCESS_LOG")) spec_cfg.access_log = 0;
    hub = tycho_hub_new(&spec_cfg, 1, err, errlen);
    if (!hub) return -1;
    obs = tycho_obs_new(hub, &spec_cfg, 0); /* the spec thread's observer from now on */
    if (!obs) {
        snprintf(err, errlen, "out of memory");
        tycho_hub_free(hub);
        hub = NULL;
        return -1;
    }
    return 0;
}

void tycho_spec_telemetry_stop(void)
{
    tycho_obs_free(obs);
    obs = NULL;
    tycho_hub_free(hub); /* frees the spans nobody collected */
    hub = NULL;
}

tycho_handler_t tycho_spec_telemetry_wrap(tycho_handler_t inner)
{
    return obs ? tycho_obs_wrap(obs, inner) : inner;
}

void tycho_spec_telemetry_answered(const tycho_exchange_t *x)
{
    if (!obs) return;
    const tycho_request_t *r = &x->req;
    size_t in = r->method.n + r->target.n + 12 + r->body.n; /* as on the wire, roughly */
    for (size_t i = 0; i < r->nheaders; i++)
        in += r->headers[i].name.n + r->headers[i].value.n + 4;
    size_t out = 17 + x->res.header.len + x->res.body.len;
    tycho_obs_on_response(obs, x, in, out, NULL);
}

static void push_hex(lua_State *L, const uint8_t *id, size_t n)
{
    char hex[33];
    tycho_hex_encode(id, n, hex);
    lua_pushstring(L, hex);
}

static void push_attrs(lua_State *L, const tycho_attrs_t *a)
{
    lua_createtable(L, 0, (int)a->n);
    for (uint32_t i = 0; i < a->n; i++) {
        const tycho_attr_t *at = &a->items[i];
        switch (at->type) {
        case TYCHO_ATTR_STRING:
            lua_pushlstring(L, at->v.s.p, at->v.s.n);
            break;
        case TYCHO_ATTR_INT:
            lua_pushnumber(L, (double)at->v.i);
            break;
        case TYCHO_ATTR_DOUBLE:
            lua_pushnumber(L, at->v.d);
            break;
        case TYCHO_ATTR_BOOL:
            lua_pushboolean(L, at->v.b);
            break;
        case TYCHO_ATTR_STRING_ARRAY:
            lua_createtable(L, (int)at->v.sv.n, 0);
            for (size_t j = 0; j < at->v.sv.n; j++) {
                lua_pushlstring(L, at->v.sv.items[j].p, at->v.sv.items[j].n);
                lua_rawseti(L, -2, (int)j + 1);
            }
            break;
        }
        lua_setfield(L, -2, at->key);
    }
}

static void push_span(lua_State *L, const tycho_span_t *s)
{
    lua_createtable(L, 0, 16);
    lua_pushstring(L, s->name);
    lua_setfield(L, -2, "name");
    lua_pushstring(L, tycho_span_kind_name(s->kind));
    lua_setfield(L, -2, "kind");
    push_hex(L, s->trace_id, 16);
    lua_setfield(L, -2, "trace_id");
    push_hex(L, s->span_id, 8);
    lua_setfield(L, -2, "span_id");
    if (s->has_parent) {
        push_hex(L, s->parent_span_id, 8);
        lua_setfield(L, -2, "parent_span_id");
    }
    lua_pushboolean(L, s->parent_is_remote);
    lua_setfield(L, -2, "parent_is_remote");
    lua_pushboolean(L, tycho_span_sampled(s));
    lua_setfield(L, -2, "sampled");
    lua_pushstring(L, s->trace_state ? s->trace_state : "");
    lua_setfield(L, -2, "trace_state");
    lua_pushstring(L, tycho_span_status_name(s->status));
    lua_setfield(L, -2, "status");
    lua_pushstring(L, s->status_message ? s->status_message : "");
    lua_setfield(L, -2, "status_message");
    lua_pushnumber(L, (double)s->start_ns / 1e9);
    lua_setfield(L, -2, "start");
    lua_pushnumber(L, s->end_ns > s->start_ns ? (double)(s->end_ns - s->start_ns) / 1e9 : 0);
    lua_setfield(L, -2, "duration");
    push_attrs(L, &s->attrs);
    lua_setfield(L, -2, "attributes");
    lua_pushnumber(L, s->attrs.dropped);
    lua_setfield(L, -2, "dropped_attributes");
    lua_createtable(L, (int)s->nevents, 0);
    for (uint32_t i = 0; i < s->nevents; i++) {
        lua_createtable(L, 0, 2);
        lua_pushstring(L, s->events[i].name);
        lua_setfield(L, -2, "name");
        push_attrs(L, &s->events[i].attrs);
        lua_setfield(L, -2, "attributes");
        lua_rawseti(L, -2, (int)i + 1);
    }
    lua_setfield(L, -2, "events");
}

int tycho_spec_telemetry_spans(lua_State *L)
{
    if (!hub) return luaL_error(L, "tycho.test.spans: only available under `tycho spec`");
    tycho_ring_t *ring = tycho_hub_span_ring(hub, 0);
    lua_newtable(L);
    int n = 0;
    for (tycho_span_t *s; (s = tycho_ring_pop(ring));) {
        push_span(L, s);
        tycho_span_free(s);
        lua_rawseti(L, -2, ++n);
    }
    return 1;
}
