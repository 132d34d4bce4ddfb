#include "lua/request.h"

#include "lua/gen.h"
#include "lua/libs.h"
#include "lua/query_table.h"
#include "lua/scheduler.h"
#include "http/client_ip.h"

#include <ctype.h>
#include <lauxlib.h>
#include <string.h>
#include <strings.h>

#define REQ_MT "tycho.req"
#define HEADERS_MT "tycho.req.headers"
#define HTTP_ERROR_MT "tycho.http_error"

typedef struct req_ud {
    tycho_lua_task_t *t;
    uint64_t serial;
} req_ud_t;

static void raise_http_error(lua_State *L, int status, const char *msg)
{
    lua_createtable(L, 0, 2);
    lua_pushinteger(L, status);
    lua_setfield(L, -2, "status");
    lua_pushstring(L, msg);
    lua_setfield(L, -2, "message");
    luaL_getmetatable(L, HTTP_ERROR_MT);
    lua_setmetatable(L, -2);
    lua_error(L);
}

static int http_error_tostring(lua_State *L)
{
    lua_getfield(L, 1, "status");
    lua_getfield(L, 1, "message");
    lua_pushfstring(L, "HTTP %d: %s", (int)lua_tointeger(L, -2),
                    lua_isstring(L, -1) ? lua_tostring(L, -1) : "");
    return 1;
}

static tycho_lua_reqctx_t *live_req(lua_State *L, int idx)
{
    req_ud_t *u = luaL_checkudata(L, idx, REQ_MT);
    if (!u->t || u->t->serial != u->serial || !u->t->live || !u->t->rq.x) return NULL;
    return &u->t->rq;
}

/* req.headers: names in lower case, repeated fields joined. A lookup may
 * spell '-' as '_' (headers_index), so a field whose own name has a '_' is
 * left out, as nginx does by default: req.headers.x_user must be X-User's
 * value, never a client's X_User that a proxy in front, which set or
 * stripped X-User, let through. */
/* Pushes name in lower case, whole: a name longer than a stack buffer (the
 * header section limit is its only bound) is lowered in luaL_Buffer pieces,
 * never cut, or a lookup by the real name would find nothing. */
static void push_lower(lua_State *L, const tycho_slice_t *name)
{
    luaL_Buffer b;
    luaL_buffinit(L, &b);
    for (size_t at = 0; at < name->n;) {
        char *d = luaL_prepbuffer(&b);
        size_t n = name->n - at < LUAL_BUFFERSIZE ? name->n - at : LUAL_BUFFERSIZE;
        for (size_t k = 0; k < n; k++)
            d[k] = (char)tolower((unsigned char)name->p[at + k]);
        luaL_addsize(&b, n);
        at += n;
    }
    luaL_pushresult(&b);
}

static void push_headers(lua_State *L, const tycho_request_t *r)
{
    lua_createtable(L, 0, (int)r->nheaders);
    int t = lua_gettop(L);
    for (size_t i = 0; i < r->nheaders; i++) {
        const tycho_header_t *h = &r->headers[i];
        if (memchr(h->name.p, '_', h->name.n)) continue;
        push_lower(L, &h->name);
        lua_pushvalue(L, -1);
        lua_rawget(L, t);
        if (lua_isnil(L, -1)) {
            lua_pop(L, 1);
            lua_pushlstring(L, h->value.p, h->value.n);
        } else { /* repeated field: combined as RFC 9110 5.3 says (cookies with "; ") */
            int cookie = h->name.n == 6 && strncasecmp(h->name.p, "cookie", 6) == 0;
            lua_pushstring(L, cookie ? "; " : ", ");
            lua_pushlstring(L, h->value.p, h->value.n);
            lua_concat(L, 3);
        }
        lua_rawset(L, t);
    }
    luaL_getmetatable(L, HEADERS_MT);
    lua_setmetatable(L, t);
}

static int headers_index(lua_State *L)
{
    size_t n;
    const char *k = lua_tolstring(L, 2, &n);
    if (!k || lua_type(L, 2) != LUA_TSTRING) return 0;
    luaL_Buffer b;
    luaL_buffinit(L, &b);
    for (size_t i = 0; i < n; i++) {
        char c = (char)tolower((unsigned char)k[i]);
        luaL_addchar(&b, c == '_' ? '-' : c);
    }
    luaL_pushresult(&b);
    lua_rawget(L, 1);
    return 1;
}

/* X-Forwarded-For is believed only from a trusted proxy (http/client_ip.h). */
static void push_client_ip(lua_State *L, const tycho_lua_reqctx_t *rq)
{
    char ip[TYCHO_CLIENT_IP_MAX];
    tycho_client_ip(rq->cfg, &rq->x->req, ip);
    lua_pushstring(L, ip);
}

static int req_json(lua_State *L)
{
    /* req.json() (a dot for the colon, Lua's most common slip) would read
     * "bad argument #1 to 'json' (tycho.req expected, got no value)" */
    if (!luaL_testudata(L, 1, REQ_MT))
        return luaL_error(L,
                          "req.json() without the request: write req:json(), with a colon (got %s)",
                          luaL_typename(L, 1));
    tycho_lua_reqctx_t *rq = live_req(L, 1);
    if (!rq) return luaL_error(L, "req:json(): request is finished");
    tycho_slice_t body = rq->x->req.body;
    if (body.n == 0) raise_http_error(L, 400, "request body is empty (expected JSON)");
    char err[256], msg[300];
    if (tycho_json_decode(L, body.p, body.n, err, sizeof err) != 0) {
        snprintf(msg, sizeof msg, "invalid JSON body: %s", err);
        raise_http_error(L, 400, msg);
    }
    return 1;
}

/* A req's fields (cached and the handler's own) live in its environment
 * table, created on the first store: until then the environment is one
 * shared, always empty table (upvalue 1 of req_index and req_newindex), so a
 * handler that never touches req allocates nothing for it. Replaces that
 * placeholder with a fresh table if needed; stack unchanged. */
static void own_fields(lua_State *L)
{
    lua_getfenv(L, 1);
    if (lua_rawequal(L, -1, lua_upvalueindex(1))) {
        lua_createtable(L, 0, 4);
        lua_setfenv(L, 1);
    }
    lua_pop(L, 1);
}

static int shared_fields_newindex(lua_State *L)
{
    return luaL_error(L, "the fields of a req with none stored yet are shared: store them with "
                         "req.name = value");
}

/* Guards the shared empty table of own_fields against a handler reaching it
 * through debug.getfenv(req) and storing into it: such a field would show on
 * every other request. (rawset still can; that is deliberate.) */
static void guard_shared_fields(lua_State *L)
{
    lua_createtable(L, 0, 2);
    lua_pushcfunction(L, shared_fields_newindex);
    lua_setfield(L, -2, "__newindex");
    lua_pushboolean(L, 0);
    lua_setfield(L, -2, "__metatable");
    lua_setmetatable(L, -2);
}

static int req_index(lua_State *L)
{
    lua_getfenv(L, 1);
    lua_pushvalue(L, 2);
    lua_rawget(L, -2);
    if (!lua_isnil(L, -1)) return 1;
    lua_pop(L, 1);
    size_t n;
    const char *k = lua_tolstring(L, 2, &n);
    if (!k || lua_type(L, 2) != LUA_TSTRING) return 0;
    if (strcmp(k, "json") == 0) {
        lua_pushcfunction(L, req_json);
        return 1;
    }
    tycho_lua_reqctx_t *rq = live_req(L, 1);
    if (!rq) return luaL_error(L, "req.%s: request is finished (read fields while handling it)", k);
    const tycho_request_t *r = &rq->x->req;
    switch (k[0]) {
    case 'm':
        if (strcmp(k, "method") == 0)
            lua_pushlstring(L, r->method.p, r->method.n);
        else
            return 0;
        break;
    case 'p':
        if (strcmp(k, "path") == 0) {
            lua_pushlstring(L, r->path.p, r->path.n);
        } else if (strcmp(k, "params") == 0) {
            lua_createtable(L, 0, (int)rq->match.nparams);
            for (size_t i = 0; i < rq->match.nparams; i++) {
                const tycho_route_param_t *p = &rq->match.params[i];
                lua_pushlstring(L, p->name, p->nlen);
                tycho_lua_push_decoded(L, p->value, p->vlen, 0);
                lua_rawset(L, -3);
            }
        } else if (strcmp(k, "peer_ip") == 0) {
            lua_pushstring(L, r->peer_ip ? r->peer_ip : "");
        } else {
            return 0;
        }
        break;
    case 'q':
        if (strcmp(k, "query") == 0)
            tycho_lua_push_query(L, r->query.p, r->query.n);
        else if (strcmp(k, "query_string") == 0)
            lua_pushlstring(L, r->query.p, r->query.n);
        else
            return 0;
        break;
    case 'h':
        if (strcmp(k, "headers") == 0)
            push_headers(L, r);
        else
            return 0;
        break;
    case 'b':
        if (strcmp(k, "body") == 0)
            lua_pushlstring(L, r->body.p ? r->body.p : "", r->body.n);
        else
            return 0;
        break;
    case 'c':
        if (strcmp(k, "client_ip") == 0)
            push_client_ip(L, rq);
        else
            return 0;
        break;
    case 'i':
        if (strcmp(k, "id") == 0)
            lua_pushstring(L, r->request_id ? r->request_id : "");
        else
            return 0;
        break;
    case 'r':
        if (strcmp(k, "route") == 0)
            lua_pushstring(L, rq->route ? rq->route->pattern : "");
        else
            return 0;
        break;
    case 't':
        if (strcmp(k, "target") == 0)
            lua_pushlstring(L, r->target.p, r->target.n);
        else
            return 0;
        break;
    default:
        return 0;
    }
    own_fields(L);
    lua_getfenv(L, 1);
    lua_pushvalue(L, 2);
    lua_pushvalue(L, -3);
    lua_rawset(L, -3); /* cache in the env table */
    lua_pop(L, 1);
    return 1;
}

static int req_newindex(lua_State *L)
{
    own_fields(L);
    lua_getfenv(L, 1);
    lua_pushvalue(L, 2);
    lua_pushvalue(L, 3);
    lua_rawset(L, -3);
    return 0;
}

static int req_tostring(lua_State *L)
{
    tycho_lua_reqctx_t *rq = live_req(L, 1);
    if (!rq) {
        lua_pushliteral(L, "req (finished)");
        return 1;
    }
    const tycho_request_t *r = &rq->x->req;
    lua_pushliteral(L, "req ");
    lua_pushlstring(L, r->method.p, r->method.n);
    lua_pushliteral(L, " ");
    lua_pushlstring(L, r->target.p, r->target.n);
    lua_concat(L, 4);
    return 1;
}

int tycho_lua_request_init(lua_State *L)
{
    luaL_newmetatable(L, REQ_MT);
    lua_newtable(L); /* the fields of a req that has stored none: see own_fields */
    guard_shared_fields(L);
    lua_pushvalue(L, -1);
    lua_rawseti(L, -3, 1); /* mt[1], for tycho_lua_request_push */
    lua_pushvalue(L, -1);
    lua_pushcclosure(L, req_index, 1);
    lua_setfield(L, -3, "__index");
    lua_pushcclosure(L, req_newindex, 1);
    lua_setfield(L, -2, "__newindex");
    lua_pushcfunction(L, req_tostring);
    lua_setfield(L, -2, "__tostring");
    lua_pushliteral(L, "tycho.req");
    lua_setfield(L, -2, "__metatable");
    int ref = luaL_ref(L, LUA_REGISTRYINDEX); /* the hot path fetches it by number */
    luaL_newmetatable(L, HEADERS_MT);
    lua_pushcfunction(L, headers_index);
    lua_setfield(L, -2, "__index");
    lua_pop(L, 1);
    luaL_newmetatable(L, HTTP_ERROR_MT);
    lua_pushcfunction(L, http_error_tostring);
    lua_setfield(L, -2, "__tostring");
    lua_pop(L, 1);
    return ref;
}

void tycho_lua_request_push(lua_State *co, tycho_lua_task_t *t)
{
    req_ud_t *u = lua_newuserdata(co, sizeof *u);
    u->t = t;
    u->serial = t->serial;
    lua_rawgeti(co, LUA_REGISTRYINDEX, t->gen->req_mt_ref);
    lua_rawgeti(co, -1, 1); /* the shared empty fields (own_fields) */
    lua_setfenv(co, -3);
    lua_setmetatable(co, -2);
}
