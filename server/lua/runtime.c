#include "lua/runtime.h"

#include "core/log.h"
#include "core/request_obs.h"
#include "http/response_head.h"
#include "lua/consumer.h"
#include "lua/gen.h"
#include "lua/response.h"
#include "lua/scheduler.h"
#include "lua/task_traceback.h"
#include "lua/timers.h"
#include "lua/watchdog.h"

#include <ctype.h>
#include <errno.h>
#include <lauxlib.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct tycho_lua_runtime {
    uv_loop_t *loop;
    tycho_config_t cfg;
    int worker_id;
    int routes_optional;
    int stopped;
    char lua_dir[4096];
    tycho_lua_alloc_t alloc;
    tycho_lua_sched_t sched;
    tycho_lua_gen_t *cur;
    tycho_lua_gen_t *pending; /* prepared by a reload, waiting for commit or discard */
    tycho_lua_gen_t **retired;
    size_t nretired, capretired;
    uint64_t next_id;
    uint64_t loads; /* attempts, failed ones included: tycho_lua_gen_opts_t.load */
    double loaded_at;
    char *last_error;
    double last_error_at;
    unsigned long long reloads, reload_failures, handler_errors;
    char **interned;
    tycho_consumers_t *consumers; /* SQS consumers of the route files (serve only) */
    tycho_timers_t *timers;       /* timers of the route files (serve, worker 0 only) */
    void (*drain_done)(void *ud); /* drain: waits for the consumers and the timers */
    void *drain_ud;
    int drain_pending;
    size_t ninterned, capinterned;
};

static double unix_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Route labels (x->route) must outlive the generation that matched them: the
 * engine may read x->route after the exchange finished (access log, metrics). */
static const char *intern(void *ud, const char *s)
{
    tycho_lua_runtime_t *rt = ud;
    for (size_t i = 0; i < rt->ninterned; i++)
        if (strcmp(rt->interned[i], s) == 0) return rt->interned[i];
    if (rt->ninterned == rt->capinterned) {
        size_t cap = rt->capinterned ? rt->capinterned * 2 : 32;
        char **v = realloc(rt->interned, cap * sizeof *v);
        if (!v) return NULL;
        rt->interned = v;
        rt->capinterned = cap;
    }
    char *c = strdup(s);
    if (!c) return NULL;
    rt->interned[rt->ninterned++] = c;
    return c;
}

static void free_interned(tycho_lua_runtime_t *rt)
{
    for (size_t i = 0; i < rt->ninterned; i++)
        free(rt->interned[i]);
    free(rt->interned);
}

static tycho_lua_gen_t *load_gen(tycho_lua_runtime_t *rt, char **err)
{
    tycho_lua_gen_opts_t o = {
        .cfg = &rt->cfg,
        .routes_dir = rt->cfg.routes_dir[0] ? rt->cfg.routes_dir : NULL,
        .routes_optional = rt->routes_optional,
        .stdout_to_log = !rt->routes_optional, /* serve's workers, not specs */
        .task_guards = !rt->routes_optional,
        .lua_dir = rt->lua_dir,
        .alloc = &rt->alloc,
        .sched = &rt->sched,
        .runtime = rt,
        .intern = intern,
        .id = rt->next_id,
        .watchdog = rt->sched.watchdog,
        .load = ++rt->loads,
    };
    return tycho_lua_gen_new(&o, err);
}

static void free_gen(tycho_lua_gen_t *g, void *ud)
{
    tycho_lua_runtime_t *rt = ud;
    for (size_t i = 0; i < rt->nretired; i++)
        if (rt->retired[i] == g) {
            rt->retired[i] = rt->retired[--rt->nretired];
            break;
        }
    tycho_lua_gen_free(g);
}

static tycho_lua_gen_t *consumers_gen(void *ud)
{
    return ((tycho_lua_runtime_t *)ud)->cur;
}

static tycho_lua_runtime_t *create(uv_loop_t *loop, const tycho_config_t *cfg, int worker_id,
                                   int routes_optional, char **err)
{
    *err = NULL;
    tycho_lua_runtime_t *rt = calloc(1, sizeof *rt);
    if (!rt) {
        *err = tycho_lua_strdupf("out of memory");
        return NULL;
    }
    rt->loop = loop;
    rt->cfg = *cfg;
    rt->worker_id = worker_id;
    rt->routes_optional = routes_optional;
    rt->next_id = 1;
    rt->alloc.limit = cfg->lua_memory_limit;
    tycho_lua_resolve_lua_dir(cfg, rt->lua_dir, sizeof rt->lua_dir);
    if (tycho_lua_sched_init(&rt->sched, loop, &rt->alloc, cfg->handler_timeout) != 0) {
        *err = tycho_lua_strdupf("out of memory");
        free(rt);
        return NULL;
    }
    rt->sched.gen_release = free_gen;
    rt->sched.gen_release_ud = rt;
    rt->cur = load_gen(rt, err);
    if (!rt->cur) {
        tycho_lua_sched_close(&rt->sched);
        if (loop) uv_run(loop, UV_RUN_NOWAIT); /* finish closing the timer */
        tycho_lua_alloc_release(&rt->alloc);   /* the failed state's blocks */
        free_interned(rt);                     /* the routes it read before it failed */
        free(rt);
        return NULL;
    }
    rt->next_id++;
    rt->loaded_at = unix_now();
    /* SQS consumers and timers run in `tycho serve` only (specs call handlers
     * directly); timers on worker 0 only */
    if (!routes_optional) {
        rt->consumers =
            tycho_consumers_new(loop, &rt->sched, &rt->cfg, worker_id, consumers_gen, rt);
        if (rt->consumers) tycho_consumers_bind(rt->consumers, rt->cur);
        if (worker_id == 0)
            rt->timers = tycho_timers_new(loop, &rt->sched, &rt->cfg, consumers_gen, rt);
        if (rt->timers) tycho_timers_bind(rt->timers, rt->cur);
    }
    return rt;
}

tycho_lua_runtime_t *tycho_lua_runtime_new(uv_loop_t *loop, const tycho_config_t *cfg,
                                           int worker_id, char **err)
{
    return create(loop, cfg, worker_id, 0, err);
}

tycho_lua_runtime_t *tycho_lua_runtime_new_for_specs(uv_loop_t *loop, const tycho_config_t *cfg,
                                                     char **err)
{
    return create(loop, cfg, 0, 1, err);
}

/* The new generation's number is the next one only when it is committed: a
 * discarded one leaves the count as it was, in step with the other workers. */
int tycho_lua_runtime_prepare(tycho_lua_runtime_t *rt, char **err)
{
    char *e = NULL;
    tycho_lua_runtime_discard(rt);
    rt->pending = load_gen(rt, &e);
    if (!rt->pending) {
        rt->reload_failures++;
        free(rt->last_error);
        rt->last_error = strdup(e ? e : "reload failed");
        rt->last_error_at = unix_now();
        if (err)
            *err = e;
        else
            free(e);
        return -1;
    }
    if (err) *err = NULL;
    return 0;
}

static void retire(tycho_lua_runtime_t *rt, tycho_lua_gen_t *old)
{
    old->retired = 1;
    if (old->inflight == 0) {
        tycho_lua_gen_free(old);
        return;
    }
    if (rt->nretired == rt->capretired) {
        size_t cap = rt->capretired ? rt->capretired * 2 : 4;
        tycho_lua_gen_t **v = realloc(rt->retired, cap * sizeof *v);
        if (v) rt->retired = v, rt->capretired = cap;
    }
    if (rt->nretired < rt->capretired) rt->retired[rt->nretired++] = old;
    /* else: freed by free_gen all the same; only the list entry is lost */
}

void tycho_lua_runtime_commit(tycho_lua_runtime_t *rt)
{
    tycho_lua_gen_t *g = rt->pending;
    if (!g) return;
    rt->pending = NULL;
    tycho_lua_gen_t *old = rt->cur;
    rt->cur = g;
    rt->next_id++;
    rt->loaded_at = unix_now();
    if (rt->consumers) tycho_consumers_bind(rt->consumers, g); /* new messages: new handlers */
    if (rt->timers) tycho_timers_bind(rt->timers, g);          /* next runs: new handlers */
    rt->reloads++;
    free(rt->last_error);
    rt->last_error = NULL;
    retire(rt, old);
}

void tycho_lua_runtime_discard(tycho_lua_runtime_t *rt)
{
    tycho_lua_gen_free(rt->pending); /* nothing ran on it: no request, timer or consumer */
    rt->pending = NULL;
}

int tycho_lua_runtime_reload(tycho_lua_runtime_t *rt, char **err)
{
    if (tycho_lua_runtime_prepare(rt, err) != 0) return -1;
    tycho_lua_runtime_commit(rt);
    return 0;
}

uint64_t tycho_lua_runtime_generation(const tycho_lua_runtime_t *rt)
{
    return rt->cur->id;
}

uint64_t tycho_lua_runtime_load(const tycho_lua_runtime_t *rt)
{
    return rt->cur->load;
}

size_t tycho_lua_runtime_memory(const tycho_lua_runtime_t *rt)
{
    return __atomic_load_n(&rt->alloc.used, __ATOMIC_RELAXED);
}

void tycho_lua_runtime_stats(const tycho_lua_runtime_t *rt, tycho_lua_runtime_stats_t *out)
{
    memset(out, 0, sizeof *out);
    out->generation = rt->cur->id;
    out->loaded_at = rt->loaded_at;
    out->last_error = rt->last_error ? rt->last_error : "";
    out->last_error_at = rt->last_error ? rt->last_error_at : 0;
    out->routes = rt->cur->nroutes;
    out->memory = rt->alloc.used;
    out->memory_peak = rt->alloc.peak;
    out->memory_limit = rt->alloc.limit;
    for (const tycho_lua_task_t *t = rt->sched.live; t; t = t->next)
        if (t->rq.x) out->inflight++;
    out->retired = rt->nretired;
    out->reloads = rt->reloads;
    out->reload_failures = rt->reload_failures;
    out->handler_errors = rt->handler_errors;
    out->timeouts = rt->sched.timeouts;
    out->cpu_timeouts = rt->sched.cpu_timeouts;
    out->oom = rt->sched.oom;
}

void tycho_lua_runtime_routes(const tycho_lua_runtime_t *rt,
                              void (*fn)(void *ud, const char *method, const char *pattern,
                                         const char *where),
                              void *ud)
{
    for (size_t i = 0; i < rt->cur->nroutes; i++) {
        const tycho_lua_route_t *r = rt->cur->routes[i];
        fn(ud, r->method, r->pattern, r->where);
    }
}

/* --- dispatch ------------------------------------------------------------------ */

/* The message of an HTTP error raised without one (tycho.error(404)): its
 * reason phrase in lower case, as the router words its own ("not found"),
 * else "error" (a status with no registered phrase). */
static const char *default_message(int status, char *buf, size_t len)
{
    const char *reason = tycho_http_reason(status);
    if (!reason[0]) return "error";
    size_t i = 0;
    for (; reason[i] && i + 1 < len; i++)
        buf[i] = (char)tolower((unsigned char)reason[i]);
    buf[i] = 0;
    return buf;
}

/* The fields that open every line about how a handler ended: the request's
 * route and method, and where the handler is (file:line). */
#define HANDLER_FIELDS(x, route)                                                                   \
    LF_STR("route", (route)->pattern), LF_STRN("method", (x)->req.method.p, (x)->req.method.n),    \
        LF_STR("handler", (route)->where)

/* error({ status = 4xx, message = "..." }) is an HTTP error, not a crash:
 * answers it and returns 1. http_status wins over status (AWS errors: status
 * is AWS's own). An error with server_fault = true (an aws.Error about the
 * server's own credentials, signature, permissions or settings) answers
 * "internal error": its message, for the log only, names account ids, role
 * ARNs and internal endpoints. Fields are read raw (gen.h). */
static int answer_http_error(tycho_exchange_t *x, const tycho_lua_route_t *route, lua_State *co,
                             int e)
{
    if (tycho_lua_rawfield(co, e, "http_status") == LUA_TNIL) {
        lua_pop(co, 1);
        tycho_lua_rawfield(co, e, "status");
    }
    double st = lua_tonumber(co, -1);
    int is_http = lua_type(co, -1) == LUA_TNUMBER && st >= 400 && st <= 599 && st == (int)st;
    if (!is_http && !lua_isnil(co, -1)) { /* error({ status = 302 }): say why it is a 500 */
        int t = lua_type(co, -1);
        const char *given =
            t == LUA_TNUMBER || t == LUA_TSTRING ? lua_tostring(co, -1) : lua_typename(co, t);
        tycho_log_warn("handler error's status is not an HTTP error status (an integer "
                       "400..599): answered as a handler failure (500)",
                       HANDLER_FIELDS(x, route), LF_STR("status_given", given));
    }
    lua_pop(co, 1);
    if (!is_http) return 0;
    size_t len = 0;
    char reason[64];
    const char *msg = tycho_lua_error_message(co, e, &len); /* NUL bytes and all */
    if (!msg) {
        msg = default_message((int)st, reason, sizeof reason);
        len = strlen(msg);
    }
    int server_fault =
        tycho_lua_rawfield(co, e, "server_fault") == LUA_TBOOLEAN && lua_toboolean(co, -1);
    lua_pop(co, 1);
    if (server_fault)
        tycho_response_set_error(&x->res, (int)st, "internal error", x->req.request_id);
    else
        tycho_response_set_error_n(&x->res, (int)st, msg, len, x->req.request_id);
    if (st >= 500 || server_fault)
        tycho_log_warn("handler raised an HTTP error", HANDLER_FIELDS(x, route),
                       LF_INT("status", (int)st), LF_STRN("error", msg, len));
    return 1;
}

static void handler_failed(tycho_lua_runtime_t *rt, tycho_lua_task_t *t, int status)
{
    tycho_exchange_t *x = t->rq.x;
    const tycho_lua_route_t *route = t->rq.route;
    const char *rid = x->req.request_id;
    lua_State *co = t->co;
    int e = lua_gettop(co);
    if (status == TYCHO_TASK_ERROR && lua_istable(co, e) && answer_http_error(x, route, co, e))
        return;
    char buf[96];
    const char *msg = tycho_lua_error_text(co, buf, sizeof buf);
    lua_State *L = t->gen->L;
    const char *tb = tycho_lua_task_traceback(L, co, msg);
    int code = 500;
    const char *what = "handler error";
    if (status == TYCHO_TASK_CPU_TIMEOUT) {
        code = 504;
        what = "handler timeout: interrupted after running past TYCHO_HANDLER_TIMEOUT";
    } else if (status == TYCHO_TASK_NOMEM) {
        what = "handler error: Lua memory limit reached (TYCHO_LUA_MEMORY_LIMIT)";
    }
    rt->handler_errors++;
    tycho_log_error(what, HANDLER_FIELDS(x, route), LF_STR("error", msg),
                    LF_STR("traceback", tb ? tb : ""));
    tycho_obs_record_error(x, msg, tb); /* the server span: status ERROR, exception event */
    lua_pop(L, 1);
    tycho_response_set_error(&x->res, code, code == 504 ? "handler timeout" : "internal error",
                             rid);
}

static void on_done(tycho_lua_task_t *t, int status, int nres)
{
    tycho_lua_runtime_t *rt = t->ud;
    tycho_exchange_t *x = t->rq.x;
    if (!x) return;
    const tycho_lua_route_t *route = t->rq.route;
    const char *rid = x->req.request_id;
    /* lines about the request carry its ids (request, trace, server span),
     * also when it ends from a timer (timeouts) */
    const tycho_req_trace_t *tr = tycho_obs_trace(x);
    const tycho_log_context_t *prev_log = tycho_log_get_context();
    tycho_log_set_context(tr ? &tr->logctx : &t->logctx);
    if (status == TYCHO_TASK_OK) {
        char err[300];
        int first = lua_gettop(t->co) - nres + 1;
        int head_route = strcmp(route->method, "HEAD") == 0;
        if (tycho_lua_response_build(t->co, first, nres, head_route, &x->res, err, sizeof err) !=
            0) {
            rt->handler_errors++;
            tycho_log_error("handler error: invalid response", HANDLER_FIELDS(x, route),
                            LF_STR("error", err));
            tycho_response_set_error(&x->res, 500, "internal error", rid);
        }
    } else if (status == TYCHO_TASK_TIMEOUT) {
        /* where it waits: which of its calls never answered */
        lua_State *L = t->gen->L;
        luaL_traceback(L, t->co, "waiting", 0);
        const char *tb = lua_tostring(L, -1);
        tycho_log_warn("handler timeout: still waiting after TYCHO_HANDLER_TIMEOUT",
                       HANDLER_FIELDS(x, route), LF_DBL("timeout", rt->cfg.handler_timeout),
                       LF_STR("traceback", tb ? tb : ""));
        lua_pop(L, 1);
        tycho_response_set_error(&x->res, 504, "handler timeout", rid);
    } else {
        handler_failed(rt, t, status);
    }
    tycho_log_set_context(prev_log);
    t->rq.x = NULL;
    x->handler_data = NULL;
    tycho_exchange_finish(x);
}

static void finish_now(tycho_exchange_t *x, int status, const char *msg, const char *allow)
{
    tycho_response_t *res = &x->res;
    if (status == 204) {
        tycho_response_reset(res);
        res->status = 204;
    } else {
        tycho_response_set_error(res, status, msg, x->req.request_id);
    }
    if (allow) tycho_response_add_header(res, "Allow", 5, allow, strlen(allow), NULL);
    tycho_exchange_finish(x);
}

/* 0 with *m the route r goes to, or the status it gets without a handler:
 * 503 (stopping), 404 (no route), 400 (an invalid percent-escape in its
 * path), 405 (no route for its method); -ENOMEM. */
static int route_request(tycho_lua_runtime_t *rt, const tycho_request_t *r, tycho_route_match_t *m)
{
    if (rt->stopped) return 503;
    int rc = tycho_router_match(rt->cur->router, r->method.p, r->method.n, r->path.p, r->path.n, m);
    if (rc == TYCHO_ROUTE_NOT_FOUND) return 404;
    if (rc == TYCHO_ROUTE_BAD_PATH) return 400;
    if (rc == TYCHO_ROUTE_METHOD_NOT_ALLOWED) return 405;
    return rc < 0 ? -ENOMEM : 0;
}

static int final_status(void *ctx, const tycho_request_t *r)
{
    tycho_route_match_t m;
    int status = route_request(ctx, r, &m);
    return status > 0 ? status : 0;
}

static void dispatch(void *ctx, tycho_exchange_t *x)
{
    tycho_lua_runtime_t *rt = ctx;
    x->route = NULL;
    x->handler_data = NULL;
    tycho_lua_gen_t *g = rt->cur;
    const tycho_request_t *r = &x->req;
    tycho_route_match_t m;
    int status = route_request(rt, r, &m);
    if (status == 503) {
        finish_now(x, 503, "shutting down", NULL);
        return;
    }
    if (status == 404) {
        finish_now(x, 404, "not found", NULL);
        return;
    }
    if (status == 400) { /* RFC 3986 2.1 */
        finish_now(x, 400, "invalid percent-escape in path", NULL);
        return;
    }
    if (status < 0) {
        finish_now(x, 503, "out of memory", NULL);
        return;
    }
    if (status == 405) {
        char allow[TYCHO_ROUTER_ALLOW_MAX];
        tycho_router_allow(g->router, r->path.p, r->path.n, allow, sizeof allow);
        int options = r->method.n == 7 && memcmp(r->method.p, "OPTIONS", 7) == 0;
        finish_now(x, options ? 204 : 405, "method not allowed", allow);
        return;
    }
    tycho_lua_route_t *route = m.data;
    x->route = route->label;
    tycho_lua_task_t *t = tycho_lua_task_new(&rt->sched, g, on_done, rt);
    if (!t) {
        finish_now(x, 503, "out of memory", NULL);
        return;
    }
    t->rq.x = x;
    t->rq.route = route;
    t->rq.match = m;
    t->rq.cfg = &rt->cfg;
    /* every line the handler logs names the request and its trace; a
     * tycho.trace.span moves span_id to the child while it is open */
    const tycho_req_trace_t *tr = tycho_obs_trace(x);
    t->logctx = tr ? tr->logctx : (tycho_log_context_t){r->request_id, NULL, NULL, 0};
    x->handler_data = t;
    lua_rawgeti(t->co, LUA_REGISTRYINDEX, route->ref);
    tycho_lua_request_push(t->co, t);
    tycho_lua_task_run(t, 1);
}

static void cancel(void *ctx, tycho_exchange_t *x)
{
    (void)ctx;
    tycho_lua_task_t *t = x->handler_data;
    x->handler_data = NULL;
    if (!t || t->rq.x != x) return;
    t->rq.x = NULL;
    tycho_lua_task_cancel(t);
}

tycho_handler_t tycho_lua_runtime_handler(tycho_lua_runtime_t *rt)
{
    return (tycho_handler_t){dispatch, cancel, rt, final_status};
}

void tycho_lua_runtime_stop(tycho_lua_runtime_t *rt)
{
    rt->stopped = 1;
}

static void drained_one(void *ud)
{
    tycho_lua_runtime_t *rt = ud;
    if (--rt->drain_pending == 0 && rt->drain_done) rt->drain_done(rt->drain_ud);
}

void tycho_lua_runtime_drain(tycho_lua_runtime_t *rt, void (*done)(void *ud), void *ud)
{
    rt->drain_done = done;
    rt->drain_ud = ud;
    rt->drain_pending = 1 + (rt->consumers != NULL) + (rt->timers != NULL);
    if (rt->consumers) tycho_consumers_drain(rt->consumers, drained_one, rt);
    if (rt->timers) tycho_timers_drain(rt->timers, drained_one, rt);
    drained_one(rt);
}

void tycho_lua_runtime_free(tycho_lua_runtime_t *rt)
{
    if (!rt) return;
    rt->stopped = 1;
    /* tasks first (their coroutines live in the states), then the states, then
     * the task memory: a __gc run by lua_close may still look at a req */
    rt->sched.gen_release = NULL;
    tycho_consumers_free(rt->consumers); /* cancels its handler tasks */
    rt->consumers = NULL;
    tycho_timers_free(rt->timers); /* cancels a running timer handler */
    rt->timers = NULL;
    tycho_lua_sched_cancel_all(&rt->sched);
    for (size_t i = 0; i < rt->nretired; i++)
        tycho_lua_gen_free(rt->retired[i]);
    free(rt->retired);
    tycho_lua_gen_free(rt->pending);
    tycho_lua_gen_free(rt->cur);
    tycho_lua_sched_close(&rt->sched);
    tycho_lua_alloc_release(&rt->alloc);
    free_interned(rt);
    free(rt->last_error);
    free(rt);
}

/* stdout_to_log: the scratch state runs inside tycho serve (the pre-check),
 * whose stdout is the JSON log, not in tycho check, whose stdout is its list */
static int check_routes(const tycho_config_t *cfg, const tycho_lua_listing_t *list,
                        int stdout_to_log, char **err)
{
    tycho_lua_alloc_t alloc = {0};
    char lua_dir[4096];
    tycho_lua_resolve_lua_dir(cfg, lua_dir, sizeof lua_dir);
    /* a load that never ends fails at the deadline: the JIT stays off so
     * that no loop it compiled can escape the watchdog's hook */
    tycho_watchdog_slot_t *wd = tycho_watchdog_register();
    tycho_lua_gen_opts_t o = {
        .cfg = cfg,
        .routes_dir = cfg->routes_dir[0] ? cfg->routes_dir : "./routes",
        .lua_dir = lua_dir,
        .alloc = &alloc,
        .id = 0,
        .watchdog = wd,
        .jit_off = 1,
        .stdout_to_log = stdout_to_log,
        .load = 1, /* the only one: its definitions are a route load's (not tycho's own) */
    };
    tycho_lua_gen_t *g = tycho_lua_gen_new(&o, err);
    int rc = g ? 0 : -1;
    for (size_t i = 0; g && list && list->route && i < g->nroutes; i++)
        list->route(list->ud, g->routes[i]->method, g->routes[i]->pattern, g->routes[i]->where);
    if (g && list && list->timer) tycho_lua_timers_each(g, list->timer, list->ud);
    if (g && list && list->consumer) tycho_lua_consumers_each(g, list->consumer, list->ud);
    tycho_lua_gen_free(g);           /* (NULL: nothing) */
    tycho_lua_alloc_release(&alloc); /* what the state's blocks left cached, either way */
    tycho_watchdog_unregister(wd);   /* (NULL: nothing) */
    return rc;
}

int tycho_lua_check(const tycho_config_t *cfg, char **err)
{
    return check_routes(cfg, NULL, 1, err);
}

int tycho_lua_check_routes(const tycho_config_t *cfg, const tycho_lua_listing_t *list, char **err)
{
    return check_routes(cfg, list, 0, err);
}

/* Internal accessors for the commands and tycho._test (same layer). */
tycho_lua_gen_t *tycho_lua_runtime_current_gen(tycho_lua_runtime_t *rt)
{
    return rt->cur;
}
tycho_lua_sched_t *tycho_lua_runtime_sched(tycho_lua_runtime_t *rt)
{
    return &rt->sched;
}

int tycho_lua_runtime_use_routes(tycho_lua_runtime_t *rt, const char *dir, char **err)
{
    char old[sizeof rt->cfg.routes_dir];
    if (strlen(dir) >= sizeof rt->cfg.routes_dir) {
        *err = tycho_lua_strdupf("%s: path too long", dir);
        return -1;
    }
    strcpy(old, rt->cfg.routes_dir);
    strcpy(rt->cfg.routes_dir, dir);
    if (tycho_lua_runtime_reload(rt, err) != 0) {
        strcpy(rt->cfg.routes_dir, old);
        return -1;
    }
    return 0;
}

void tycho_lua_runtime_set_limits(tycho_lua_runtime_t *rt, double handler_timeout,
                                  size_t memory_limit)
{
    rt->cfg.handler_timeout = handler_timeout;
    rt->cfg.lua_memory_limit = memory_limit;
    rt->sched.timeout = handler_timeout > 0 ? handler_timeout : 0;
    rt->alloc.limit = memory_limit;
    if (rt->sched.sweep_on) {
        uv_timer_stop(rt->sched.sweep);
        rt->sched.sweep_on = 0;
    }
}

tycho_config_t *tycho_lua_runtime_config(tycho_lua_runtime_t *rt)
{
    return &rt->cfg;
}
