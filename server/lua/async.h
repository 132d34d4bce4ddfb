/* async — the C API for Lua bindings that wait (timers, outbound HTTP, AWS
 * calls, queue polls). A binding starts an operation, yields the calling
 * request coroutine, and the worker loop serves other requests until the
 * operation completes and resumes the coroutine with results. Worker thread
 * only; no locks.
 *
 * Writing a yielding binding:
 *
 *   typedef struct { tycho_lua_op_t op; uv_timer_t timer; } sleep_op_t;
 *
 *   static void sleep_start(tycho_lua_op_t *op)   // the coroutine has yielded
 *   { sleep_op_t *s = (sleep_op_t *)op; uv_timer_init(tycho_lua_op_loop(op), &s->timer); ... }
 *   static void sleep_done(uv_timer_t *t)          // completion, on the loop
 *   { ...; tycho_lua_op_resume(op, 0); then release the op (uv_close -> free) }
 *   static void sleep_cancel(tycho_lua_op_t *op)   // request gone: stop, free, never resume
 *   static int l_sleep(lua_State *L)
 *   { sleep_op_t *s = calloc(1, sizeof *s); s->op.start = sleep_start; s->op.cancel = sleep_cancel;
 *     return tycho_lua_suspend(L, &s->op); }
 *
 * Rules:
 * - tycho_lua_suspend must be the binding's `return` expression. It raises a
 *   Lua error (and calls op->cancel) when the caller is not a coroutine run by
 *   tycho (module top level, a coroutine the handler created itself) or when
 *   the yield would cross a C call boundary (table.sort comparator,
 *   string.gsub callback...). pcall/xpcall, metamethods and iterators may yield
 *   (LuaJIT 2.1).
 * - start() runs after the coroutine has really yielded, so work is never
 *   started for a call that then fails to yield. It may complete at once
 *   (calling tycho_lua_op_resume from inside start is allowed).
 * - Completion: push the results on tycho_lua_op_thread(op), then call
 *   tycho_lua_op_resume(op, nresults) exactly once. The scheduler reads op only
 *   on entry; the binding owns op again once the call returns (free it then).
 *   Report failures as results (e.g. nil, "message"); the Lua side raises.
 * - cancel() is called instead of a completion when the request goes away
 *   (client disconnect, handler timeout, shutdown): stop the work, release
 *   everything, free op; never resume. cancel may run before start. */
#ifndef TYCHO_LUA_ASYNC_H
#define TYCHO_LUA_ASYNC_H

#include <lua.h>
#include <uv.h>

typedef struct tycho_lua_task tycho_lua_task_t;
typedef struct tycho_lua_op tycho_lua_op_t;

struct tycho_lua_op {
    void (*start)(tycho_lua_op_t *op);  /* may be NULL: nothing to start (e.g. a pure yield) */
    void (*cancel)(tycho_lua_op_t *op); /* required */
    /* scheduler-owned */
    tycho_lua_task_t *task;
    int started;
};

/* Yields the running request coroutine on op (see above). Use as
 * `return tycho_lua_suspend(L, op);`. */
int tycho_lua_suspend(lua_State *L, tycho_lua_op_t *op);

/* The coroutine to push results on, and the worker's loop. */
lua_State *tycho_lua_op_thread(const tycho_lua_op_t *op);
uv_loop_t *tycho_lua_op_loop(const tycho_lua_op_t *op);

/* Resumes the coroutine with the nresults values pushed on it. */
void tycho_lua_op_resume(tycho_lua_op_t *op, int nresults);

/* 1 when L is a coroutine tycho runs (so tycho_lua_suspend can work). */
int tycho_lua_can_suspend(lua_State *L);

/* Raises the "cannot wait here" error, saying why (module load time, or a
 * coroutine the handler created), prefixed with "who: " unless who is NULL:
 * for a binding that checks tycho_lua_can_suspend before any work. Use as
 * `return tycho_lua_cannot_wait(L, "tycho.x.y", 1);`. level is luaL_where's:
 * 1 names the line that called the binding; 2 its caller's, for a binding
 * only its Lua module calls (tycho.all's run, from lua/tycho/all.lua). */
int tycho_lua_cannot_wait(lua_State *L, const char *who, int level);

#endif
