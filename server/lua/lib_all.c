/* tycho._all — the C half of tycho.all (lua/tycho/all.lua): runs functions
 * side by side, each as a task of its own that shares the calling task's
 * request (its req, log ids, trace, route, memory limit and deadline), and
 * waits until every one has ended. The calling task is the group's owner: if
 * it goes (client gone, handler timeout, shutdown), the functions still
 * waiting are cancelled with it; a function that runs out of the deadline
 * they share ends the caller as its own timeout (tycho_lua_task_expire).
 * Worker thread (or the tycho spec thread). */
#include "lua/libs.h"

#include "lua/async.h"
#include "lua/cstack.h"
#include "lua/gen.h"
#include "lua/lib_trace.h"
#include "lua/scheduler.h"

#include <lauxlib.h>
#include <stdint.h>
#include <stdlib.h>

#define MAX_FUNCTIONS 100
/* luaL_where's level of the line that called tycho.all: run (level 0) is
 * called by lua/tycho/all.lua (1), which its caller called (2). Mistakes in
 * the call are raised there: all.lua's own line would point into the
 * framework. */
#define CALLER_LEVEL 2

enum { FAIL_ERROR = 1, FAIL_NOMEM };

typedef struct group group_t;

typedef struct member {
    group_t *g;
    int i;                  /* 0-based: the function's argument index - 1 */
    tycho_lua_task_t *task; /* NULL once it ended */
    uint64_t serial;        /* task->serial: a task dropped without its done (the
                               scheduler cancelling every task at shutdown) has
                               another, and is not this member's any more */
    int failed;             /* 0, or FAIL_*: its error is in the table at -(i + 1) */
} member_t;

struct group {
    tycho_lua_op_t op; /* first: the scheduler hands it back to group_cancel */
    lua_State *caller;
    tycho_lua_task_t *task; /* the caller's */
    int expired;            /* a function ran out of the deadline it shares with the caller */
    uv_timer_t defer;       /* resumes the caller from a fresh loop callback */
    /* registry: the table of results [i + 1] and errors [-(i + 1)], and at
     * [0] the span open where tycho.all was called (the functions' parent) */
    int ref;
    const char *base_hex; /* that span's id, NULL: none open */
    int n, left, waiting, nres;
    member_t m[];
};

static void free_group(uv_handle_t *h)
{
    free(h->data);
}

/* With the group's table on top of the caller's stack: replaces it with the
 * outcome and returns how many values: true, the results table, n; or
 * false, the error of the first function (by argument order) that failed,
 * and "nomem" or "error". */
static int push_outcome(group_t *g)
{
    lua_State *L = g->caller;
    lua_checkstack(L, 4);
    for (int i = 0; i < g->n; i++) {
        const member_t *m = &g->m[i];
        if (!m->failed) continue;
        lua_pushboolean(L, 0);
        lua_rawgeti(L, -2, -(i + 1));
        lua_pushstring(L, m->failed == FAIL_NOMEM ? "nomem" : "error");
        lua_remove(L, -4);
        return 3;
    }
    lua_pushboolean(L, 1);
    lua_insert(L, -2);
    lua_pushinteger(L, g->n);
    return 3;
}

/* Resumes the caller with the outcome; or, when a function ran out of the
 * deadline, ends the caller as its own timeout (a 504 for a handler, as if
 * it had waited there itself): group_cancel then frees the group. */
static void deliver(uv_timer_t *timer)
{
    group_t *g = timer->data;
    if (g->expired) {
        tycho_lua_task_expire(g->task);
        return;
    }
    g->waiting = 0;
    /* the table goes before the caller runs on: it may end, and its
     * coroutine be collected, before this returns */
    luaL_unref(g->caller, LUA_REGISTRYINDEX, g->ref);
    tycho_lua_op_resume(&g->op, g->nres);
    uv_close((uv_handle_t *)&g->defer, free_group);
}

/* Function m failed (kind): its error, on top of the caller's stack, goes
 * in the table at -(i + 1). */
static void record_failure(group_t *g, member_t *m, int kind)
{
    lua_State *L = g->caller;
    lua_rawgeti(L, LUA_REGISTRYINDEX, g->ref);
    lua_insert(L, -2);
    lua_rawseti(L, -2, -(m->i + 1));
    lua_pop(L, 1);
    m->failed = kind;
}

/* A function ended: its first result, or its error, goes in the table.
 * Runs outside the memory limit (the scheduler's done). */
static void member_done(tycho_lua_task_t *t, int status, int nres)
{
    member_t *m = t->ud;
    group_t *g = m->g;
    lua_State *L = g->caller;
    m->task = NULL;
    g->left--;
    if (status == TYCHO_TASK_TIMEOUT || status == TYCHO_TASK_CPU_TIMEOUT) {
        g->expired = 1;
    } else if (status == TYCHO_TASK_OK && nres > 0) {
        lua_rawgeti(L, LUA_REGISTRYINDEX, g->ref);
        lua_pushvalue(t->co, -nres);
        lua_xmove(t->co, L, 1);
        lua_rawseti(L, -2, m->i + 1);
        lua_pop(L, 1);
    } else if (status != TYCHO_TASK_OK) {
        lua_xmove(t->co, L, 1);
        record_failure(g, m, status == TYCHO_TASK_NOMEM ? FAIL_NOMEM : FAIL_ERROR);
    }
    if (!g->waiting || (g->left > 0 && !g->expired)) return;
    if (!g->expired) {
        lua_rawgeti(L, LUA_REGISTRYINDEX, g->ref);
        g->nres = push_outcome(g);
    }
    uv_timer_start(&g->defer, deliver, 0, 0);
}

/* The caller is dropped while it waits: the functions still running go
 * with it (their done is not called). */
static void group_cancel(tycho_lua_op_t *op)
{
    group_t *g = (group_t *)op;
    g->waiting = 0;
    for (int i = 0; i < g->n; i++) {
        tycho_lua_task_t *t = g->m[i].task;
        g->m[i].task = NULL;
        if (t && t->live && t->serial == g->m[i].serial) tycho_lua_task_cancel(t);
    }
    uv_timer_stop(&g->defer);
    luaL_unref(g->caller, LUA_REGISTRYINDEX, g->ref);
    uv_close((uv_handle_t *)&g->defer, free_group);
}

/* Starts function i as a task sharing cur's request; it runs until it
 * first waits or ends. */
static void start_member(group_t *g, int i, tycho_lua_task_t *cur)
{
    member_t *m = &g->m[i];
    m->g = g;
    m->i = i;
    /* the task's coroutine is the runtime's, not the caller's allocation:
     * made outside the memory limit (a refusal here would leave the
     * functions started before it without their group) */
    tycho_lua_alloc_t *a = cur->sched->alloc;
    int enforce = a ? a->enforce : 0;
    if (a) a->enforce = 0;
    tycho_lua_task_t *t = tycho_lua_task_new(cur->sched, cur->gen, member_done, m);
    if (a) a->enforce = enforce;
    if (!t) { /* C allocation: this one fails, the others run */
        lua_pushliteral(g->caller, "tycho.all: out of memory starting a function");
        record_failure(g, m, FAIL_ERROR);
        g->left--;
        return;
    }
    m->task = t;
    m->serial = t->serial;
    t->rq = cur->rq;
    t->logctx = cur->logctx;
    t->unlimited = cur->unlimited;
    t->deadline_ns = cur->deadline_ns;
    if (g->base_hex) { /* its spans, calls and log lines under the caller's span */
        t->trace_base_ref = g->ref;
        t->logctx.span_id = g->base_hex;
    }
    lua_pushvalue(g->caller, i + 1);
    lua_xmove(g->caller, t->co, 1);
    tycho_lua_task_run(t, 0);
}

/* run(f1, ..., fn) -> true, results, n | false, err, "error"|"nomem" */
static int l_run(lua_State *L)
{
    int n = lua_gettop(L);
    if (!tycho_lua_can_suspend(L)) return tycho_lua_cannot_wait(L, "tycho.all", CALLER_LEVEL);
    tycho_lua_cstack_check(L, CALLER_LEVEL, "tycho.all");
    if (n > MAX_FUNCTIONS)
        return tycho_lua_error_at(L, CALLER_LEVEL, "tycho.all: at most %d functions, got %d",
                                  MAX_FUNCTIONS, n);
    for (int i = 1; i <= n; i++)
        if (lua_type(L, i) != LUA_TFUNCTION)
            return tycho_lua_error_at(L, CALLER_LEVEL,
                                      "tycho.all: argument %d is a %s, not a function", i,
                                      luaL_typename(L, i));
    tycho_lua_task_t *cur = tycho_lua_task_current();
    /* what may raise (a memory error) comes before anything is held */
    const char *base_hex = tycho_lua_trace_push_current(L, cur);
    lua_createtable(L, n, 1);
    if (base_hex) {
        lua_pushvalue(L, -2);
        lua_rawseti(L, -2, 0);
    }
    int ref = luaL_ref(L, LUA_REGISTRYINDEX);
    group_t *g = calloc(1, sizeof *g + (size_t)n * sizeof g->m[0]);
    if (!g) {
        luaL_unref(L, LUA_REGISTRYINDEX, ref);
        return luaL_error(L, "tycho.all: out of memory");
    }
    g->caller = L;
    g->task = cur;
    g->ref = ref;
    g->base_hex = base_hex;
    g->n = g->left = n;
    g->op.cancel = group_cancel;
    uv_timer_init(cur->sched->loop, &g->defer);
    g->defer.data = g;
    for (int i = 0; i < n; i++)
        start_member(g, i, cur);
    if (g->left == 0 && !g->expired) { /* every one ended without waiting */
        /* released before the outcome's strings, which may meet the memory
         * limit (g itself is freed by the loop, after this returns) */
        lua_rawgeti(L, LUA_REGISTRYINDEX, g->ref);
        luaL_unref(L, LUA_REGISTRYINDEX, g->ref);
        uv_close((uv_handle_t *)&g->defer, free_group);
        return push_outcome(g);
    }
    g->waiting = 1;
    if (g->expired) uv_timer_start(&g->defer, deliver, 0, 0); /* once the caller waits */
    return tycho_lua_suspend(L, &g->op);
}

int luaopen_tycho_all_c(lua_State *L)
{
    lua_newtable(L);
    lua_pushcfunction(L, l_run);
    lua_setfield(L, -2, "run");
    return 1;
}
