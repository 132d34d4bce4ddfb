#include "lua/spec_block.h"

#include "lua/async.h"
#include "lua/scheduler.h"

#include <lauxlib.h>
#include <stdio.h>
#include <stdlib.h>

/* One block run; wait_op (the spec run waiting for it) comes first: the
 * scheduler hands it back to wait_cancel. */
typedef struct block_run {
    tycho_lua_op_t wait_op;
    tycho_lua_task_t *task; /* NULL once the block ended */
    lua_State *caller;
    uv_timer_t defer;
    int nres; /* results pushed on caller once the block ended */
    int ended, waiting;
    /* when it started: the allocations the memory limit refused, and the
     * memory errors tasks ended with (the scheduler's count) */
    unsigned long long refused, oom;
} block_run_t;

/* Written on the spec thread before the block's task runs, so before the
 * watchdog thread can see its deadline (a release store in
 * tycho_watchdog_enter); that thread reads them only past the deadline, while
 * the spec thread is stuck in the block. */
static char running_label[256];
static double running_limit;

/* The block the spec run waits for now, or NULL (tycho_spec_block_interrupt). */
static block_run_t *waited;

const char *tycho_spec_block_running(double *seconds)
{
    *seconds = running_limit;
    return running_label[0] ? running_label : "?";
}

static void free_run(uv_handle_t *h)
{
    free(h->data);
}

static void deliver(uv_timer_t *timer)
{
    block_run_t *b = timer->data;
    b->waiting = 0;
    if (waited == b) waited = NULL;
    tycho_lua_op_resume(&b->wait_op, b->nres);
    uv_close((uv_handle_t *)&b->defer, free_run);
}

/* The allocations the memory limit refused since the block started. */
static unsigned long long refused_since(const block_run_t *b, const tycho_lua_sched_t *s)
{
    return s->alloc ? s->alloc->refused - b->refused : 0;
}

/* The block ended: its outcome goes on the caller's stack. A caller that
 * waits is resumed from a fresh loop callback, never nested in the block's
 * task (each test would otherwise run deeper in the C stack). Runs outside
 * the memory limit (the scheduler's finish). */
static void block_done(tycho_lua_task_t *t, int status, int nres)
{
    block_run_t *b = t->ud;
    lua_State *L = b->caller;
    tycho_lua_sched_t *s = t->sched;
    unsigned long long refused = refused_since(b, s);
    b->task = NULL;
    b->ended = 1;
    running_label[0] = '\0';
    if (status == TYCHO_TASK_OK && refused && s->oom == b->oom) {
        /* the limit was met, and no memory error came out of it: one was
         * caught as an ordinary error (a pcall, in the spec or a route),
         * so neither the block nor a request it made failed with it */
        lua_pushliteral(L, "nomem_caught");
        lua_pushnumber(L, (double)refused);
        b->nres = 2;
    } else if (status == TYCHO_TASK_OK) {
        lua_pushliteral(L, "ok");
        if (!lua_checkstack(L, nres)) nres = 0; /* results dropped rather than overflow */
        lua_xmove(t->co, L, nres);
        b->nres = 1 + nres;
    } else if (status == TYCHO_TASK_TIMEOUT || status == TYCHO_TASK_CPU_TIMEOUT) {
        lua_pushliteral(L, "timeout");
        b->nres = 1;
    } else {
        lua_pushliteral(L, "error");
        lua_xmove(t->co, L, 1);
        b->nres = 2;
    }
    /* what met the limit and did not end in a memory error (which the
     * scheduler collects after) is garbage still holding the memory: the
     * run's next block would meet the limit at once */
    if (refused) lua_gc(L, LUA_GCCOLLECT, 0);
    if (b->waiting) uv_timer_start(&b->defer, deliver, 0, 0);
}

/* The spec run is dropped while it waits (or its yield failed). */
static void wait_cancel(tycho_lua_op_t *op)
{
    block_run_t *b = (block_run_t *)op;
    b->waiting = 0;
    if (waited == b) waited = NULL;
    if (b->task) tycho_lua_task_cancel(b->task);
    b->task = NULL;
    running_label[0] = '\0';
    uv_timer_stop(&b->defer);
    uv_close((uv_handle_t *)&b->defer, free_run);
}

int tycho_spec_block_run(lua_State *L)
{
    luaL_checktype(L, 1, LUA_TFUNCTION);
    double seconds = luaL_checknumber(L, 2);
    const char *label = luaL_optstring(L, 3, "?");
    tycho_lua_task_t *cur = tycho_lua_task_current();
    if (!cur || !tycho_lua_can_suspend(L))
        return luaL_error(L, "run_block: only from the spec run's own coroutine");
    block_run_t *b = calloc(1, sizeof *b);
    tycho_lua_task_t *t = b ? tycho_lua_task_new(cur->sched, cur->gen, block_done, b) : NULL;
    if (!t) {
        free(b);
        return luaL_error(L, "out of memory");
    }
    b->task = t;
    b->caller = L;
    b->refused = cur->sched->alloc ? cur->sched->alloc->refused : 0;
    b->oom = cur->sched->oom;
    b->wait_op.cancel = wait_cancel;
    snprintf(running_label, sizeof running_label, "%s", label);
    running_limit = seconds;
    if (tycho_lua_task_set_deadline(t, seconds) != 0)
        fprintf(stderr, "tycho spec: the watchdog cannot start: a block that never yields "
                        "will not be interrupted\n");
    lua_pushvalue(L, 1);
    lua_xmove(L, t->co, 1);
    tycho_lua_task_run(t, 0);
    if (b->ended) { /* never waited: its outcome is on the stack already */
        int n = b->nres;
        free(b);
        return n;
    }
    uv_timer_init(cur->sched->loop, &b->defer);
    b->defer.data = b;
    b->waiting = 1;
    waited = b;
    return tycho_lua_suspend(L, &b->wait_op);
}

int tycho_spec_block_interrupt(const char *reason)
{
    block_run_t *b = waited;
    if (!b || b->ended || !b->task) return 0;
    tycho_lua_task_cancel(b->task); /* its pending wait is cancelled: done is not called */
    b->task = NULL;
    b->ended = 1;
    running_label[0] = '\0';
    lua_pushliteral(b->caller, "interrupted");
    lua_pushstring(b->caller, reason);
    b->nres = 2;
    uv_timer_start(&b->defer, deliver, 0, 0);
    return 1;
}
