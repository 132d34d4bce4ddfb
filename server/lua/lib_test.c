/* tycho._test — in-process requests for specs (wrapped by lua/tycho/test.lua):
 * request(method, target, opts) checks the request line as the HTTP server
 * does (parser.h: a refused one gets the server's error answer), builds a
 * tycho_exchange_t, dispatches it to the runtime's handler (the real router
 * and handler, yields included) and yields until the exchange finishes;
 * returns status, headers, body.
 * Also reload() and stats() of the runtime, exe() (this binary) and
 * run_block() (spec_block.h) for the spec runner's --timeout, interrupted()
 * and track_server(pid, on) (spec_interrupt.h) for SIGINT and SIGTERM. */
#include "http/request_id.h"
#include "http/response_head.h"
#include "http/server.h"
#include "lua/async.h"
#include "lua/gen.h"
#include "lua/libs.h"
#include "lua/runtime.h"
#include "lua/scheduler.h"
#include "lua/spec_block.h"
#include "lua/spec_interrupt.h"
#include "lua/spec_telemetry.h"

#include <ctype.h>
#include <stdio.h>
#include <lauxlib.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#define HANDLE_MT "tycho.test.pending"

/* One in-process request. The Lua handle (a userdata pointing here) owns it:
 * __gc frees it, cancelling the exchange first if it is still running. */
typedef struct test_req {
    tycho_lua_op_t wait_op; /* the spec waiting for the response */
    tycho_exchange_t x;
    tycho_handler_t handler;
    tycho_header_t *headers;
    char *mem; /* every string of the request, in one block */
    char request_id[TYCHO_REQUEST_ID_MAX + 1];
    uv_timer_t defer;
    int dispatched, finished, waiting;
} test_req_t;

typedef struct handle {
    test_req_t *tr;
} handle_t;

static void on_closed(uv_handle_t *h)
{
    test_req_t *tr = h->data;
    tycho_response_free(&tr->x.res);
    free(tr->headers);
    free(tr->mem);
    free(tr);
}

static void push_headers(lua_State *co, const tycho_buf_t *h)
{
    lua_newtable(co);
    const char *p = h->data, *end = h->data ? h->data + h->len : NULL;
    while (p && p < end) {
        const char *eol = strstr(p, "\r\n");
        if (!eol) break;
        const char *colon = memchr(p, ':', (size_t)(eol - p));
        if (colon) {
            luaL_Buffer b;
            luaL_buffinit(co, &b);
            for (const char *c = p; c < colon; c++)
                luaL_addchar(&b, (char)tolower((unsigned char)*c));
            luaL_pushresult(&b);
            const char *v = colon + 1;
            while (v < eol && *v == ' ')
                v++;
            lua_pushvalue(co, -1);
            lua_rawget(co, -3);
            if (lua_isnil(co, -1)) {
                lua_pop(co, 1);
                lua_pushlstring(co, v, (size_t)(eol - v));
            } else { /* repeated header (Set-Cookie): an array */
                if (!lua_istable(co, -1)) {
                    lua_createtable(co, 2, 0);
                    lua_insert(co, -2);
                    lua_rawseti(co, -2, 1);
                }
                lua_pushlstring(co, v, (size_t)(eol - v));
                lua_rawseti(co, -2, (int)lua_objlen(co, -2) + 1);
            }
            lua_rawset(co, -3);
        }
        p = eol + 2;
    }
}

/* status, headers, the body as serve would send it (none for HEAD, 204...), route */
static int push_results(lua_State *co, test_req_t *tr)
{
    const tycho_response_t *res = &tr->x.res;
    lua_pushinteger(co, res->status);
    push_headers(co, &res->header);
    if (tycho_response_sends_body(res, &tr->x.req) && res->body.data)
        lua_pushlstring(co, res->body.data, res->body.len);
    else
        lua_pushliteral(co, "");
    lua_pushstring(co, tr->x.route ? tr->x.route : "");
    return 4;
}

static void deliver(uv_timer_t *timer)
{
    test_req_t *tr = timer->data;
    if (!tr->waiting) return;
    tr->waiting = 0;
    push_results(tycho_lua_op_thread(&tr->wait_op), tr);
    tycho_lua_op_resume(&tr->wait_op, 4);
}

/* The waiter is resumed from a fresh loop callback, never nested inside the
 * handler task that just finished. */
static void on_finish(tycho_exchange_t *x)
{
    test_req_t *tr = x->owner;
    tr->finished = 1;
    tycho_spec_telemetry_answered(x); /* server span, HTTP metrics, access log */
    if (tr->waiting) uv_timer_start(&tr->defer, deliver, 0, 0);
}

static void wait_cancel(tycho_lua_op_t *op)
{
    test_req_t *tr = (test_req_t *)op; /* wait_op is the first member */
    tr->waiting = 0;
    uv_timer_stop(&tr->defer);
}

static void drop(test_req_t *tr)
{
    if (tr->dispatched && !tr->finished && tr->handler.cancel) {
        tr->x.cancel.reason = "client_closed";
        tr->handler.cancel(tr->handler.ctx, &tr->x);
    }
    tr->finished = 1;
    uv_timer_stop(&tr->defer);
    uv_close((uv_handle_t *)&tr->defer, on_closed);
}

static int handle_gc(lua_State *L)
{
    handle_t *h = luaL_checkudata(L, 1, HANDLE_MT);
    if (h->tr) drop(h->tr);
    h->tr = NULL;
    return 0;
}

static struct tycho_lua_runtime *runtime_of(lua_State *L)
{
    tycho_lua_gen_t *g = tycho_lua_gen_of(L);
    if (!g || !g->runtime) luaL_error(L, "tycho.test: only available under `tycho spec`");
    return g->runtime;
}

/* A request line the server refuses is answered as its connection answers
 * it (conn.c send_error): no handler, no route, nothing of the request kept
 * but its id and peer, the error body. */
static void refuse(test_req_t *tr, const tycho_request_line_t *line)
{
    tycho_request_t *r = &tr->x.req;
    *r = (tycho_request_t){.http_minor = 1,
                           .request_id = r->request_id,
                           .peer_ip = r->peer_ip,
                           .local_ip = r->local_ip,
                           .start_ns = r->start_ns};
    tycho_response_set_error(&tr->x.res, line->status, line->reason, r->request_id);
    on_finish(&tr->x);
}

/* RFC 9112 3.2.2, as the server's parser has it: an absolute-form target's
 * authority is the request's Host, in place of any Host given, or added
 * when none was (the server takes no HTTP/1.1 request without one). tr's
 * headers have room for one more. */
static void take_authority(test_req_t *tr, const tycho_slice_t *authority)
{
    tycho_request_t *r = &tr->x.req;
    int found = 0;
    for (size_t i = 0; i < r->nheaders; i++) {
        tycho_header_t *h = &tr->headers[i];
        if (h->name.n == 4 && strncasecmp(h->name.p, "host", 4) == 0) {
            h->value = *authority;
            found = 1;
        }
    }
    if (!found) tr->headers[r->nheaders++] = (tycho_header_t){{"Host", 4}, *authority};
    r->headers = tr->headers;
}

/* start(method, target, { headers = {...}, body = "...", peer_ip = "...", request_id = "..." }) */
static int l_start(lua_State *L)
{
    struct tycho_lua_runtime *rt = runtime_of(L);
    tycho_http_limits_t limits = tycho_http_limits_of(tycho_lua_runtime_config(rt));
    size_t mlen, tlen, blen = 0;
    const char *method = luaL_checklstring(L, 1, &mlen);
    const char *target = luaL_checklstring(L, 2, &tlen);
    int opts = lua_istable(L, 3) ? 3 : 0;
    const char *body = NULL, *peer = "", *rid = NULL;
    size_t nheaders = 0, hbytes = 0, rid_len = 0;
    if (opts) {
        lua_getfield(L, opts, "body");
        body = lua_tolstring(L, -1, &blen); /* left on the stack: keeps it alive */
        lua_getfield(L, opts, "peer_ip");
        if (lua_isstring(L, -1)) peer = lua_tostring(L, -1);
        lua_getfield(L, opts, "request_id");
        if (lua_isstring(L, -1)) {
            rid = lua_tolstring(L, -1, &rid_len);
            /* what the server would take from X-Request-Id (it replaces any other) */
            if (!tycho_request_id_valid(&(tycho_slice_t){rid, rid_len}))
                return luaL_error(L,
                                  "request_id \"%s\": 1 to 128 printable ASCII characters, "
                                  "without spaces, '\"' or '\\'",
                                  rid);
        }
        lua_getfield(L, opts, "headers");
        if (lua_istable(L, -1)) {
            lua_pushnil(L);
            while (lua_next(L, -2)) {
                size_t kn = 0, vn = 0;
                if (lua_type(L, -2) != LUA_TSTRING || !lua_isstring(L, -1))
                    return luaL_error(L, "tycho.test.request: headers must map strings to strings");
                lua_tolstring(L, -2, &kn);
                lua_tolstring(L, -1, &vn);
                nheaders++;
                hbytes += kn + vn + 2; /* name and value, each with its NUL */
                lua_pop(L, 1);
            }
        }
    }
    test_req_t *tr = calloc(1, sizeof *tr);
    /* method, target, body and peer ip, each with its NUL; the headers */
    size_t total = mlen + 1 + tlen + 1 + blen + 1 + strlen(peer) + 1 + hbytes;
    if (tr) tr->mem = malloc(total);
    if (tr) tr->headers = calloc(nheaders + 1, sizeof *tr->headers); /* + Host */
    if (!tr || !tr->mem || !tr->headers) {
        if (tr) free(tr->mem), free(tr->headers), free(tr);
        return luaL_error(L, "out of memory");
    }
    char *w = tr->mem;
#define COPY(dst, src, n)                                                                          \
    do {                                                                                           \
        memcpy(w, (src), (n));                                                                     \
        (dst) = w;                                                                                 \
        w += (n);                                                                                  \
        *w++ = 0;                                                                                  \
    } while (0)
    tycho_request_t *r = &tr->x.req;
    const char *p;
    COPY(p, method, mlen);
    r->method = (tycho_slice_t){p, mlen};
    COPY(p, target, tlen);
    r->target = (tycho_slice_t){p, tlen};
    if (body) {
        COPY(p, body, blen);
        r->body = (tycho_slice_t){p, blen};
    }
    COPY(r->peer_ip, peer, strlen(peer));
    r->local_ip = "";
    r->http_minor = 1;
    r->start_ns = uv_hrtime();
    if (nheaders) {
        size_t i = 0;
        lua_pushnil(L);
        while (lua_next(L, -2) && i < nheaders) {
            size_t kn, vn;
            const char *k = lua_tolstring(L, -2, &kn);
            const char *v = lua_tolstring(L, -1, &vn);
            COPY(tr->headers[i].name.p, k, kn);
            tr->headers[i].name.n = kn;
            COPY(tr->headers[i].value.p, v, vn);
            tr->headers[i].value.n = vn;
            i++;
            lua_pop(L, 1);
        }
        r->headers = tr->headers;
        r->nheaders = i;
    }
#undef COPY
    /* the id the server would give: the request_id option, else as
     * tycho serve assigns it (a valid X-Request-Id, else 32 hex digits) */
    if (rid)
        memcpy(tr->request_id, rid, rid_len + 1);
    else
        tycho_request_id_assign(r, tr->request_id);
    r->request_id = tr->request_id;
    tycho_request_line_t line = {.method = r->method, .target = r->target};
    int rc = tycho_http_parser_check_request_line(&limits, &line);
    if (rc != 0) {
        free(tr->headers), free(tr->mem), free(tr);
        if (rc == -EINVAL) return luaL_argerror(L, 2, "not one request line (CR or LF in it)");
        return luaL_error(L, "out of memory");
    }
    r->path = line.path;
    r->query = line.query;
    if (line.authority.n) take_authority(tr, &line.authority);
    tr->x.res.status = 200;
    tr->x.on_finish = on_finish;
    tr->x.owner = tr;
    tr->handler = tycho_spec_telemetry_wrap(tycho_lua_runtime_handler(rt));
    tr->wait_op.cancel = wait_cancel;
    uv_timer_init(tycho_lua_runtime_sched(rt)->loop, &tr->defer);
    tr->defer.data = tr;
    handle_t *h = lua_newuserdata(L, sizeof *h);
    h->tr = tr;
    luaL_getmetatable(L, HANDLE_MT);
    lua_setmetatable(L, -2);
    if (line.status) {
        refuse(tr, &line);
        return 1;
    }
    /* dispatched now: the handler runs until it finishes or first waits */
    tr->dispatched = 1;
    tr->handler.dispatch(tr->handler.ctx, &tr->x);
    return 1;
}

/* wait(handle) -> status, headers, body, route (yields until finished) */
static int l_wait(lua_State *L)
{
    handle_t *h = luaL_checkudata(L, 1, HANDLE_MT);
    test_req_t *tr = h->tr;
    if (!tr) return luaL_error(L, "tycho.test: request was cancelled");
    if (tr->finished) return push_results(L, tr);
    if (tr->waiting)
        return luaL_error(L, "tycho.test: someone is already waiting for this request");
    tr->waiting = 1;
    return tycho_lua_suspend(L, &tr->wait_op);
}

/* cancel(handle): what the engine does when the client disconnects */
static int l_cancel(lua_State *L)
{
    handle_t *h = luaL_checkudata(L, 1, HANDLE_MT);
    int was_running = h->tr && !h->tr->finished;
    if (h->tr) drop(h->tr);
    h->tr = NULL;
    lua_pushboolean(L, was_running);
    return 1;
}

/* done(handle): true once the request has finished, or was cancelled */
static int l_done(lua_State *L)
{
    handle_t *h = luaL_checkudata(L, 1, HANDLE_MT);
    lua_pushboolean(L, !h->tr || h->tr->finished);
    return 1;
}

/* What a reload returned, as Lua results: the new generation, or nil and
 * the error (err freed). */
static int reload_results(lua_State *L, struct tycho_lua_runtime *rt, int rc, char *err)
{
    if (rc != 0) {
        lua_pushnil(L);
        lua_pushstring(L, err ? err : "reload failed");
        free(err);
        return 2;
    }
    lua_pushinteger(L, (lua_Integer)tycho_lua_runtime_generation(rt));
    return 1;
}

static int l_reload(lua_State *L)
{
    struct tycho_lua_runtime *rt = runtime_of(L);
    char *err = NULL;
    int rc = tycho_lua_runtime_reload(rt, &err);
    return reload_results(L, rt, rc, err);
}

static int l_stats(lua_State *L)
{
    struct tycho_lua_runtime *rt = runtime_of(L);
    tycho_lua_runtime_stats_t s;
    tycho_lua_runtime_stats(rt, &s);
    lua_createtable(L, 0, 16);
#define NUM(k, v) (lua_pushnumber(L, (double)(v)), lua_setfield(L, -2, k))
    NUM("generation", s.generation);
    NUM("loaded_at", s.loaded_at);
    NUM("routes", s.routes);
    NUM("memory", s.memory);
    NUM("memory_peak", s.memory_peak);
    NUM("memory_limit", s.memory_limit);
    NUM("inflight", s.inflight);
    NUM("retired", s.retired);
    NUM("reloads", s.reloads);
    NUM("reload_failures", s.reload_failures);
    NUM("handler_errors", s.handler_errors);
    NUM("timeouts", s.timeouts);
    NUM("cpu_timeouts", s.cpu_timeouts);
    NUM("oom", s.oom);
#undef NUM
    lua_pushstring(L, s.last_error);
    lua_setfield(L, -2, "last_error");
    return 1;
}

/* use_routes(dir) -> generation | nil, err */
static int l_use_routes(lua_State *L)
{
    struct tycho_lua_runtime *rt = runtime_of(L);
    const char *dir = luaL_checkstring(L, 1);
    char *err = NULL;
    int rc = tycho_lua_runtime_use_routes(rt, dir, &err);
    return reload_results(L, rt, rc, err);
}

static int l_routes_dir(lua_State *L)
{
    lua_pushstring(L, tycho_lua_runtime_config(runtime_of(L))->routes_dir);
    return 1;
}

/* set_limits{ handler_timeout = s, memory_limit = bytes, trusted_proxies = "cidr,..." } */
static int l_set_limits(lua_State *L)
{
    struct tycho_lua_runtime *rt = runtime_of(L);
    luaL_checktype(L, 1, LUA_TTABLE);
    tycho_config_t *cfg = tycho_lua_runtime_config(rt);
    double timeout = cfg->handler_timeout;
    size_t limit = cfg->lua_memory_limit;
    lua_getfield(L, 1, "handler_timeout");
    if (lua_isnumber(L, -1)) timeout = lua_tonumber(L, -1);
    lua_getfield(L, 1, "memory_limit");
    if (lua_isnumber(L, -1)) limit = (size_t)lua_tonumber(L, -1);
    lua_getfield(L, 1, "trusted_proxies");
    if (lua_isstring(L, -1)) {
        char err[256];
        cfg->ntrusted_proxies = 0;
        if (lua_tostring(L, -1)[0] &&
            tycho_config_parse_cidrs(lua_tostring(L, -1), cfg, err, sizeof err) != 0)
            return luaL_error(L, "trusted_proxies: %s", err);
    }
    tycho_lua_runtime_set_limits(rt, timeout, limit);
    lua_pushnumber(L, timeout);
    lua_pushnumber(L, (double)limit);
    return 2;
}

/* Log capture: under tycho spec the logger's sink is tycho_lua_test_log_sink. */
static __thread tycho_buf_t captured;
static __thread int capturing;

void tycho_lua_test_log_sink(const char *line, size_t len, const tycho_log_meta_t *meta, void *ud)
{
    (void)meta;
    (void)ud;
    if (capturing)
        tycho_buf_append(&captured, line, len);
    else
        fwrite(line, 1, len, stderr);
}

/* capture_logs(on): starts (clearing) or stops capturing; logs() -> the lines so far */
static int l_capture_logs(lua_State *L)
{
    capturing = lua_toboolean(L, 1);
    tycho_buf_reset(&captured);
    if (!capturing) tycho_buf_free(&captured);
    return 0;
}

static int l_logs(lua_State *L)
{
    lua_pushlstring(L, captured.data ? captured.data : "", captured.len);
    return 1;
}

static int l_exe(lua_State *L)
{
    char exe[4096];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n <= 0) return 0;
    lua_pushlstring(L, exe, (size_t)n);
    return 1;
}

/* interrupted() -> "SIGINT" | "SIGTERM" once the run was told to stop, else nil */
static int l_interrupted(lua_State *L)
{
    const char *name = tycho_spec_interrupt_name();
    if (!name) return 0;
    lua_pushstring(L, name);
    return 1;
}

/* track_server(pid, on): a second signal kills the tracked servers (on =
 * true), as the run could not stop them; false when the table is full. */
static int l_track_server(lua_State *L)
{
    pid_t pid = (pid_t)luaL_checkinteger(L, 1);
    if (pid <= 0) return luaL_argerror(L, 1, "not a process id");
    if (!lua_toboolean(L, 2)) {
        tycho_spec_interrupt_untrack(pid);
        lua_pushboolean(L, 1);
    } else {
        lua_pushboolean(L, tycho_spec_interrupt_track(pid) == 0);
    }
    return 1;
}

int luaopen_tycho_test(lua_State *L)
{
    luaL_newmetatable(L, HANDLE_MT);
    lua_pushcfunction(L, handle_gc);
    lua_setfield(L, -2, "__gc");
    lua_pop(L, 1);
    static const luaL_Reg fns[] = {{"start", l_start},
                                   {"wait", l_wait},
                                   {"cancel", l_cancel},
                                   {"done", l_done},
                                   {"reload", l_reload},
                                   {"stats", l_stats},
                                   {"exe", l_exe},
                                   {"use_routes", l_use_routes},
                                   {"routes_dir", l_routes_dir},
                                   {"set_limits", l_set_limits},
                                   {"capture_logs", l_capture_logs},
                                   {"logs", l_logs},
                                   {"spans", tycho_spec_telemetry_spans},
                                   {"run_block", tycho_spec_block_run},
                                   {"interrupted", l_interrupted},
                                   {"track_server", l_track_server},
                                   {NULL, NULL}};
    lua_newtable(L);
    luaL_register(L, NULL, fns);
    return 1;
}
