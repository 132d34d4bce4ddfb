#include "lua/timers.h"

#include "lua/drain_notice.h"
#include "lua/task_traceback.h"
#include "core/log.h"
#include "core/own_metrics.h"
#include "core/work_trace.h"

#include <lauxlib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define REG_DECLS "tycho.timers" /* registry: name -> { handler, every, timeout, where } */

/* --- declarations (loader side) ----------------------------------------------- */

/* The line to blame for timers[i] of file: its handler's definition there, else the
 * first line naming it ("sample-log"), else the line of `timers`. 0: unknown. */
static int decl_line(lua_State *L, int e, const char *file, const char *name)
{
    lua_getfield(L, e, "handler");
    int defined = tycho_lua_line_in_file(L, -1, file);
    lua_pop(L, 1);
    if (defined > 0) return defined;
    FILE *f = fopen(file, "r");
    if (!f) return 0;
    char buf[4096], q1[300] = "", q2[300] = "";
    if (name) {
        snprintf(q1, sizeof q1, "\"%s\"", name);
        snprintf(q2, sizeof q2, "'%s'", name);
    }
    int line = 0, at = 0, timers_at = 0;
    while (!at && fgets(buf, sizeof buf, f)) {
        line++;
        if (name && (strstr(buf, q1) || strstr(buf, q2))) at = line;
        if (!timers_at && strstr(buf, "timers")) timers_at = line;
    }
    fclose(f);
    return at ? at : timers_at;
}

static int fail(char **err, lua_State *L, int e, const char *file, size_t i, const char *name,
                const char *msg)
{
    int line = decl_line(L, e, file, name);
    char where[64] = "";
    if (line > 0) snprintf(where, sizeof where, ":%d", line);
    if (name)
        *err = tycho_lua_strdupf("%s%s: timers[%zu] (%s): %s", file, where, i, name, msg);
    else
        *err = tycho_lua_strdupf("%s%s: timers[%zu]: %s", file, where, i, msg);
    return -1;
}

int tycho_lua_timers_read(tycho_lua_gen_t *g, const char *file, int idx, char **err)
{
    lua_State *L = g->L;
    if (idx < 0) idx = lua_gettop(L) + idx + 1;
    int top = lua_gettop(L);
    char bad[80];
    if (!lua_istable(L, idx) || !tycho_lua_is_list(L, idx, bad, sizeof bad)) {
        *err = tycho_lua_strdupf("%s: timers must be a list of { name = ..., every = seconds, "
                                 "handler = function }%s%s",
                                 file, lua_istable(L, idx) ? ": unexpected key " : "",
                                 lua_istable(L, idx) ? bad : "");
        return -1;
    }
    lua_getfield(L, LUA_REGISTRYINDEX, REG_DECLS);
    if (!lua_istable(L, -1)) {
        lua_pop(L, 1);
        lua_newtable(L);
        lua_pushvalue(L, -1);
        lua_setfield(L, LUA_REGISTRYINDEX, REG_DECLS);
    }
    int decls = lua_gettop(L);
    size_t n = lua_objlen(L, idx);
    int rc = 0;
    for (size_t i = 1; i <= n && rc == 0; i++) {
        lua_settop(L, decls);
        lua_rawgeti(L, idx, (int)i);
        int e = lua_gettop(L);
        if (!lua_istable(L, e)) {
            rc = fail(err, L, e, file, i, NULL,
                      "expected { name = ..., every = seconds, handler = function }");
            break;
        }
        lua_getfield(L, e, "name");
        const char *name = lua_type(L, -1) == LUA_TSTRING ? lua_tostring(L, -1) : NULL;
        if (!lua_isnil(L, -1) && (!name || !*name)) {
            rc = fail(err, L, e, file, i, NULL, "name must be a non-empty string");
            break;
        }
        int name_idx = lua_gettop(L);
        lua_pushnil(L);
        while (lua_next(L, e)) {
            const char *k = lua_type(L, -2) == LUA_TSTRING ? lua_tostring(L, -2) : NULL;
            if (!k || (strcmp(k, "name") && strcmp(k, "every") && strcmp(k, "handler") &&
                       strcmp(k, "timeout"))) {
                char m[160];
                snprintf(m, sizeof m, "unknown option '%.64s' (name, every, handler, timeout)",
                         k ? k : "?");
                rc = fail(err, L, e, file, i, name, m);
                break;
            }
            lua_pop(L, 1);
        }
        if (rc) break;
        lua_getfield(L, e, "every");
        double every = lua_tonumber(L, -1);
        if (lua_type(L, -1) != LUA_TNUMBER || !(every > 0) || every > 31536000) {
            rc = fail(err, L, e, file, i, name, "every must be a number of seconds > 0");
            break;
        }
        lua_getfield(L, e, "timeout");
        double timeout = lua_tonumber(L, -1);
        if (!lua_isnil(L, -1) &&
            (lua_type(L, -1) != LUA_TNUMBER || !(timeout >= 0) || timeout > 31536000)) {
            rc = fail(err, L, e, file, i, name, "timeout must be a number of seconds >= 0");
            break;
        }
        lua_getfield(L, e, "handler");
        int h = lua_gettop(L);
        if (!lua_isfunction(L, h)) {
            rc = fail(err, L, e, file, i, name, "handler must be a function");
            break;
        }
        int line = decl_line(L, e, file, name);
        lua_pushfstring(L, "%s:%d", file, line);
        int where = lua_gettop(L);
        if (!name) {
            lua_pushvalue(L, where);
            lua_replace(L, name_idx);
            name = lua_tostring(L, name_idx);
        }
        lua_getfield(L, decls, name);
        if (!lua_isnil(L, -1)) {
            lua_getfield(L, -1, "where");
            *err = tycho_lua_strdupf("%s: timer %s is already declared at %s",
                                     lua_tostring(L, where), name, lua_tostring(L, -1));
            rc = -1;
            break;
        }
        lua_pop(L, 1);
        lua_createtable(L, 0, 4);
        lua_pushvalue(L, h);
        lua_setfield(L, -2, "handler");
        lua_pushnumber(L, every);
        lua_setfield(L, -2, "every");
        lua_pushnumber(L, timeout);
        lua_setfield(L, -2, "timeout");
        lua_pushvalue(L, where);
        lua_setfield(L, -2, "where");
        lua_setfield(L, decls, name);
    }
    lua_settop(L, top);
    return rc;
}

void tycho_lua_timers_each(tycho_lua_gen_t *g,
                           void (*fn)(void *ud, const char *name, double every, const char *where),
                           void *ud)
{
    lua_State *L = g->L;
    lua_getfield(L, LUA_REGISTRYINDEX, REG_DECLS);
    if (lua_istable(L, -1)) {
        lua_pushnil(L);
        while (lua_next(L, -2)) { /* the strings stay referenced by the registry */
            lua_getfield(L, -1, "every");
            lua_getfield(L, -2, "where");
            fn(ud, lua_tostring(L, -4), lua_tonumber(L, -2), lua_tostring(L, -1));
            lua_pop(L, 3);
        }
    }
    lua_pop(L, 1);
}

/* --- runtime side ------------------------------------------------------------------ */

typedef struct ctimer ctimer_t;

struct ctimer {
    tycho_timers_t *tm;
    char *name, *where;
    double every, timeout;
    uv_timer_t *tick;        /* NULL once stopped */
    tycho_lua_task_t *task;  /* the run in progress */
    tycho_req_trace_t trace; /* its trace and root span (core/work_trace.h) */
    unsigned long long skipped;
    int active;
    ctimer_t *next;
};

enum { M_RUNS, M_SKIPPED, M_DURATION, M_COUNT };

struct tycho_timers {
    tycho_metric_t *fams[M_COUNT];
    tycho_own_metrics_t metrics; /* fams, in worker 0's registry */
    uv_loop_t *loop;
    tycho_lua_sched_t *sched;
    const tycho_config_t *cfg;
    tycho_lua_gen_t *(*current_gen)(void *ud);
    void *gen_ud;
    ctimer_t *timers;
    int draining;
    tycho_drain_notice_t drained;
};

static void free_handle(uv_handle_t *h)
{
    free(h);
}

static void handle_close(uv_timer_t **t)
{
    if (!*t) return;
    uv_close((uv_handle_t *)*t, free_handle);
    *t = NULL;
}

static void ctimer_free(ctimer_t *ct)
{
    tycho_timers_t *tm = ct->tm;
    for (ctimer_t **p = &tm->timers; *p; p = &(*p)->next)
        if (*p == ct) {
            *p = ct->next;
            break;
        }
    handle_close(&ct->tick);
    free(ct->name);
    free(ct->where);
    free(ct);
}

static void maybe_drained(tycho_timers_t *tm)
{
    if (!tm->draining) return;
    for (ctimer_t *ct = tm->timers; ct; ct = ct->next)
        if (ct->task) return;
    tycho_drain_notice_deliver(&tm->drained, tm->loop);
}

/* --- metrics --------------------------------------------------------------------- */

static const char *const timer_label[] = {"timer"};
/* the request buckets, then up to the runs a long timeout allows */
static const double duration_buckets[] = {0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5,
                                          1,     2.5,  5,     10,   30,  60,   300};
static const char *const run_labels[] = {"timer", "outcome"};
static const tycho_metric_opts_t metric_defs[M_COUNT] = {
    [M_RUNS] = {.name = "tycho_timer_runs_total",
                .help = "Timer handler runs by outcome: ok, error (raised or out of Lua "
                        "memory), timeout, cut (ended by the shutdown)",
                .type = TYCHO_METRIC_COUNTER,
                .label_names = run_labels,
                .nlabels = 2},
    [M_SKIPPED] = {.name = "tycho_timer_skipped_total",
                   .help = "Timer ticks skipped because the timer's previous run was still going",
                   .type = TYCHO_METRIC_COUNTER,
                   .label_names = timer_label,
                   .nlabels = 1},
    [M_DURATION] = {.name = "tycho_timer_run_duration_seconds",
                    .help = "Timer handler run duration, whatever the outcome",
                    .type = TYCHO_METRIC_HISTOGRAM,
                    .label_names = timer_label,
                    .nlabels = 1,
                    .buckets = duration_buckets,
                    .nbuckets = sizeof duration_buckets / sizeof *duration_buckets},
};
static const char *const outcomes[] = {"ok", "error", "timeout", "cut"};

/* A run that ended: counted by outcome, its duration observed. */
static void count_run(ctimer_t *ct, const char *outcome, uint64_t start_ns)
{
    unsigned shard;
    if (!tycho_own_metrics_ready(&ct->tm->metrics, &shard)) return;
    const char *lv[] = {ct->name, outcome};
    tycho_metric_inc(ct->tm->fams[M_RUNS], shard, lv, 1);
    tycho_metric_observe(ct->tm->fams[M_DURATION], shard, lv,
                         (double)(uv_hrtime() - start_ns) / 1e9);
}

static void count_skip(ctimer_t *ct)
{
    unsigned shard;
    if (!tycho_own_metrics_ready(&ct->tm->metrics, &shard)) return;
    const char *lv[] = {ct->name};
    tycho_metric_inc(ct->tm->fams[M_SKIPPED], shard, lv, 1);
}

/* A timer's counters are at 0 from its declaration: a series born at its
 * first failure has no earlier sample for rate() and increase() to see. */
static void counters_at_zero(ctimer_t *ct)
{
    unsigned shard;
    if (!tycho_own_metrics_ready(&ct->tm->metrics, &shard)) return;
    for (size_t i = 0; i < sizeof outcomes / sizeof *outcomes; i++) {
        const char *lv[] = {ct->name, outcomes[i]};
        tycho_metric_inc(ct->tm->fams[M_RUNS], shard, lv, 0);
    }
    const char *lv[] = {ct->name};
    tycho_metric_inc(ct->tm->fams[M_SKIPPED], shard, lv, 0);
}

static const char *outcome_of(int status)
{
    switch (status) {
    case TYCHO_TASK_OK:
        return "ok";
    case TYCHO_TASK_TIMEOUT:
    case TYCHO_TASK_CPU_TIMEOUT:
        return "timeout";
    default:
        return "error";
    }
}

static void on_done(tycho_lua_task_t *t, int status, int nres)
{
    (void)nres;
    ctimer_t *ct = t->ud;
    tycho_timers_t *tm = ct->tm;
    ct->task = NULL;
    /* the failure lines carry the run's trace, as its own lines did */
    const tycho_log_context_t *prev = tycho_log_get_context();
    tycho_log_set_context(&ct->trace.logctx);
    if (status == TYCHO_TASK_TIMEOUT) {
        lua_State *L = t->gen->L;
        luaL_traceback(L, t->co, "waiting", 0); /* where: the call that never answered */
        const char *tb = lua_tostring(L, -1);
        tycho_log_error("timer handler timeout: still waiting after its timeout; cancelled",
                        LF_STR("timer", ct->name), LF_STR("handler", ct->where),
                        LF_DBL("timeout", ct->timeout > 0 ? ct->timeout : tm->cfg->handler_timeout),
                        LF_STR("traceback", tb ? tb : ""));
        tycho_work_trace_fail(&ct->trace, "timeout", "timer handler timeout", tb ? tb : "");
        lua_pop(L, 1);
    } else if (status != TYCHO_TASK_OK) {
        char buf[512];
        const char *msg = tycho_lua_error_text(t->co, buf, sizeof buf);
        lua_State *L = t->gen->L;
        const char *tb = tycho_lua_task_traceback(L, t->co, msg);
        tycho_log_error(status == TYCHO_TASK_NOMEM
                            ? "timer handler failed: Lua memory limit reached"
                        : status == TYCHO_TASK_CPU_TIMEOUT
                            ? "timer handler interrupted after running past its timeout"
                            : "timer handler failed",
                        LF_STR("timer", ct->name), LF_STR("handler", ct->where),
                        LF_STR("error", msg), LF_STR("traceback", tb ? tb : ""));
        tycho_work_trace_fail(&ct->trace, status == TYCHO_TASK_CPU_TIMEOUT ? "timeout" : "LuaError",
                              msg, tb ? tb : "");
        lua_pop(L, 1);
    }
    tycho_log_set_context(prev);
    tycho_work_trace_finish(&ct->trace);
    count_run(ct, outcome_of(status), t->start_ns);
    if (!ct->active) ctimer_free(ct); /* dropped by a reload meanwhile */
    maybe_drained(tm);
}

static void on_tick(uv_timer_t *h)
{
    ctimer_t *ct = h->data;
    tycho_timers_t *tm = ct->tm;
    if (tm->draining) return;
    if (ct->task) {
        ct->skipped++;
        count_skip(ct);
        tycho_log_warn("timer run skipped: the previous run is still going",
                       LF_STR("timer", ct->name), LF_DBL("every", ct->every),
                       LF_INT("skipped", (long long)ct->skipped));
        return;
    }
    tycho_lua_gen_t *g = tm->current_gen(tm->gen_ud);
    lua_State *L = g->L;
    lua_getfield(L, LUA_REGISTRYINDEX, REG_DECLS);
    int have = lua_istable(L, -1);
    if (have) {
        lua_getfield(L, -1, ct->name);
        have = lua_istable(L, -1);
        lua_pop(L, 1);
    }
    lua_pop(L, 1);
    tycho_lua_task_t *t = have ? tycho_lua_task_new(tm->sched, g, on_done, ct) : NULL;
    if (!t) {
        if (have)
            tycho_log_error("timer: cannot start a run (out of memory)", LF_STR("timer", ct->name));
        return;
    }
    if (ct->timeout > 0) t->deadline_ns = t->start_ns + (uint64_t)(ct->timeout * 1e9);
    t->rq.cfg = tm->cfg;
    ct->task = t;
    /* a root span of its own: the calls it makes are its children */
    char span_name[200];
    snprintf(span_name, sizeof span_name, "timer %s", ct->name);
    tycho_span_t *s =
        tycho_work_trace_start(&ct->trace, NULL, span_name, TYCHO_SPAN_KIND_INTERNAL, NULL);
    if (s) tycho_span_set_attr(s, "tycho.timer.name", TYCHO_AV_STR(ct->name));
    t->rq.trace = &ct->trace;
    t->logctx = ct->trace.logctx;
    lua_State *co = t->co;
    lua_getfield(co, LUA_REGISTRYINDEX, REG_DECLS);
    lua_getfield(co, -1, ct->name);
    lua_getfield(co, -1, "handler");
    lua_replace(co, -3);
    lua_pop(co, 1);
    tycho_lua_task_run(t, 0); /* may finish (on_done) right here */
}

tycho_timers_t *tycho_timers_new(uv_loop_t *loop, tycho_lua_sched_t *sched,
                                 const tycho_config_t *cfg,
                                 tycho_lua_gen_t *(*current_gen)(void *ud), void *ud)
{
    tycho_timers_t *tm = calloc(1, sizeof *tm);
    if (!tm) return NULL;
    tm->loop = loop;
    tm->sched = sched;
    tm->cfg = cfg;
    tm->current_gen = current_gen;
    tm->gen_ud = ud;
    tm->metrics = (tycho_own_metrics_t){.defs = metric_defs, .fams = tm->fams, .n = M_COUNT};
    unsigned shard;
    tycho_own_metrics_ready(&tm->metrics, &shard); /* listed on /metrics before any timer runs */
    return tm;
}

void tycho_timers_bind(tycho_timers_t *tm, tycho_lua_gen_t *g)
{
    if (!tm || tm->draining) return;
    lua_State *L = g->L;
    for (ctimer_t *ct = tm->timers; ct; ct = ct->next)
        ct->active = 0;
    int top = lua_gettop(L);
    lua_getfield(L, LUA_REGISTRYINDEX, REG_DECLS);
    if (lua_istable(L, -1)) {
        lua_pushnil(L);
        while (lua_next(L, -2)) {
            const char *name = lua_tostring(L, -2);
            lua_getfield(L, -1, "every");
            lua_getfield(L, -2, "timeout");
            lua_getfield(L, -3, "where");
            double every = lua_tonumber(L, -3), timeout = lua_tonumber(L, -2);
            char *where = strdup(lua_tostring(L, -1) ? lua_tostring(L, -1) : "?");
            lua_pop(L, 4);
            ctimer_t *ct = tm->timers;
            while (ct && strcmp(ct->name, name) != 0)
                ct = ct->next;
            if (!ct && where && (ct = calloc(1, sizeof *ct)) != NULL) {
                ct->tm = tm;
                ct->name = strdup(name);
                if (!ct->name) {
                    free(ct);
                    ct = NULL;
                } else {
                    ct->next = tm->timers;
                    tm->timers = ct;
                    counters_at_zero(ct);
                }
            }
            if (!ct || !where) {
                free(where);
                tycho_log_error("timer: cannot start it (out of memory)", LF_STR("timer", name));
                continue;
            }
            ct->active = 1;
            free(ct->where);
            ct->where = where;
            ct->timeout = timeout;
            if (!ct->tick) {
                ct->tick = malloc(sizeof *ct->tick);
                if (!ct->tick) continue;
                uv_timer_init(tm->loop, ct->tick);
                ct->tick->data = ct;
                ct->every = 0;
            }
            if (ct->every != every) { /* new, or its period changed: (re)start the schedule */
                ct->every = every;
                uint64_t ms = (uint64_t)(every * 1000 + 0.5);
                if (ms < 1) ms = 1;
                uv_timer_start(ct->tick, on_tick, ms, ms);
            }
        }
    }
    lua_settop(L, top);
    for (ctimer_t *ct = tm->timers, *next; ct; ct = next) {
        next = ct->next;
        if (ct->active) continue;
        handle_close(&ct->tick); /* stops firing; a run in progress finishes (on_done frees) */
        if (!ct->task) ctimer_free(ct);
    }
}

void tycho_timers_drain(tycho_timers_t *tm, void (*done)(void *ud), void *ud)
{
    tm->draining = 1;
    tycho_drain_notice_arm(&tm->drained, done, ud);
    int running = 0;
    for (ctimer_t *ct = tm->timers; ct; ct = ct->next) {
        handle_close(&ct->tick);
        running += ct->task != NULL;
    }
    if (running)
        tycho_log_info("timers: stopped; finishing running handlers", LF_INT("running", running));
    maybe_drained(tm);
}

void tycho_timers_free(tycho_timers_t *tm)
{
    if (!tm) return;
    int drained = tm->draining;
    tm->draining = 1;
    tycho_drain_notice_cancel(&tm->drained);
    while (tm->timers) {
        ctimer_t *ct = tm->timers;
        if (ct->task) {
            /* a run the worker's end cuts (drained: at the drain timeout) */
            const char *reason = drained ? "drain_timeout" : "shutdown";
            uint64_t start_ns = ct->task->start_ns;
            tycho_lua_task_cancel(ct->task);
            const tycho_log_context_t *prev = tycho_log_get_context();
            tycho_log_set_context(&ct->trace.logctx);
            tycho_log_warn("timer run cut by the shutdown", LF_STR("timer", ct->name),
                           LF_STR("handler", ct->where), LF_STR("reason", reason));
            tycho_log_set_context(prev);
            tycho_work_trace_fail(&ct->trace, reason,
                                  drained ? "shutdown: the drain timeout cut the timer run"
                                          : "shutdown cut the timer run",
                                  NULL);
            tycho_work_trace_finish(&ct->trace);
            count_run(ct, "cut", start_ns);
        }
        ct->task = NULL;
        ctimer_free(ct);
    }
    free(tm);
}
