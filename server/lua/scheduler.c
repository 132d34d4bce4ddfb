#include "lua/scheduler.h"

#include "lua/gen.h"
#include "lua/lib_trace.h"
#include "lua/watchdog.h"

#include <lauxlib.h>
#include <stdlib.h>
#include <string.h>

#define POOL_MAX 256

static __thread tycho_lua_task_t *tls_current;

tycho_lua_task_t *tycho_lua_task_current(void)
{
    return tls_current;
}

static void sweep_cb(uv_timer_t *timer);

int tycho_lua_sched_init(tycho_lua_sched_t *s, uv_loop_t *loop, tycho_lua_alloc_t *alloc,
                         double timeout)
{
    memset(s, 0, sizeof *s);
    s->loop = loop;
    s->alloc = alloc;
    s->timeout = timeout > 0 ? timeout : 0;
    if (loop) {
        s->sweep = malloc(sizeof *s->sweep);
        if (!s->sweep) return -1;
        uv_timer_init(loop, s->sweep);
        s->sweep->data = s;
        uv_unref((uv_handle_t *)s->sweep);
    }
    if (s->timeout > 0) s->watchdog = tycho_watchdog_register();
    return 0;
}

static void link_live(tycho_lua_sched_t *s, tycho_lua_task_t *t)
{
    t->prev = NULL;
    t->next = s->live;
    if (s->live) s->live->prev = t;
    s->live = t;
    s->nlive++;
}

static void unlink_live(tycho_lua_sched_t *s, tycho_lua_task_t *t)
{
    if (t->prev)
        t->prev->next = t->next;
    else
        s->live = t->next;
    if (t->next) t->next->prev = t->prev;
    t->prev = t->next = NULL;
    s->nlive--;
}

tycho_lua_task_t *tycho_lua_task_new(tycho_lua_sched_t *s, tycho_lua_gen_t *g,
                                     tycho_lua_task_done_fn done, void *ud)
{
    tycho_lua_task_t *t = s->free_tasks;
    if (t) {
        s->free_tasks = t->next;
    } else {
        t = calloc(1, sizeof *t);
        if (!t) return NULL;
    }
    uint64_t serial = t->serial + 1;
    memset(t, 0, sizeof *t);
    t->serial = serial;
    t->sched = s;
    t->gen = g;
    t->done = done;
    t->ud = ud;
    lua_State *L = g->L;
    if (g->npool) {
        t->co_ref = g->pool[--g->npool];
        lua_rawgeti(L, LUA_REGISTRYINDEX, t->co_ref);
        t->co = lua_tothread(L, -1);
        lua_pop(L, 1);
    } else {
        t->co = lua_newthread(L);
        t->co_ref = luaL_ref(L, LUA_REGISTRYINDEX);
    }
    t->start_ns = uv_hrtime();
    t->deadline_ns = s->timeout > 0 ? t->start_ns + (uint64_t)(s->timeout * 1e9) : 0;
    t->live = 1;
    g->inflight++;
    link_live(s, t);
    return t;
}

/* The task's child spans still open end with it (lib_trace.h); a task that
 * never started one costs this test. */
static void end_spans(tycho_lua_task_t *t)
{
    if (t->spans) tycho_lua_trace_end_task(t->gen->L, t);
}

/* After the full GC that follows a task refused memory: what is left is held
 * by data kept between requests (module-level tables, caches) or by requests
 * still running; the failed request's is gone. Half the limit or more left
 * means little room for the next requests, which may keep failing the same
 * way (a heuristic: a request that needs more than the other half fails
 * either way). Said at once, then at most once a minute with the count. */
#define RETAINED_SHARE 0.5
static void report_retained(tycho_lua_sched_t *s)
{
    tycho_lua_alloc_t *a = s->alloc;
    if (!a || !a->limit || (double)a->used < (double)a->limit * RETAINED_SHARE) return;
    uint64_t n = 0;
    if (!tycho_ratelog_due(&s->retained_log, s->loop ? uv_now(s->loop) : 0, TYCHO_LOG_EVERY_MS, 1,
                           &n))
        return;
    tycho_log_warn("Lua memory still over half of TYCHO_LUA_MEMORY_LIMIT after a full GC: data "
                   "kept between requests (module-level tables, caches) holds it; requests "
                   "that need more keep failing until a reload or a restart frees it",
                   LF_INT("lua_memory_bytes", a->used), LF_INT("limit_bytes", a->limit),
                   LF_INT("failures", n));
}

/* The task has ended (or is dropped): its coroutine goes back to the pool when
 * it ended cleanly, the generation may be freed, the struct is recycled.
 * collect: a full GC once the coroutine is unreferenced (after a memory-limit
 * failure: run before, it would keep everything the failed request held, and
 * the next request on the worker would meet the limit). */
static void release(tycho_lua_task_t *t, int reusable, int collect)
{
    tycho_lua_sched_t *s = t->sched;
    tycho_lua_gen_t *g = t->gen;
    end_spans(t); /* dropped tasks; ended ones did before done */
    unlink_live(s, t);
    t->live = 0;
    t->rq.x = NULL;
    if (reusable && g->npool < POOL_MAX && lua_status(t->co) == 0) {
        if (g->npool == g->cappool) {
            size_t cap = g->cappool ? g->cappool * 2 : 16;
            int *v = realloc(g->pool, cap * sizeof *v);
            if (v) g->pool = v, g->cappool = cap;
        }
        if (g->npool < g->cappool) {
            lua_settop(t->co, 0);
            g->pool[g->npool++] = t->co_ref;
            reusable = 2;
        }
    }
    if (reusable != 2) luaL_unref(g->L, LUA_REGISTRYINDEX, t->co_ref);
    if (collect) {
        lua_gc(g->L, LUA_GCCOLLECT, 0);
        report_retained(s);
    }
    t->co = NULL;
    t->serial++;
    t->next = s->free_tasks;
    s->free_tasks = t;
    if (--g->inflight == 0 && g->retired && s->gen_release) s->gen_release(g, s->gen_release_ud);
}

/* done and release run as runtime code, outside the memory limit (their
 * allocations are not the task's, and an error there would be unprotected),
 * also when the task ran nested in another one (tycho.test requests). */
static void finish(tycho_lua_task_t *t, int st, int nres, int reusable)
{
    tycho_lua_alloc_t *a = t->sched->alloc;
    int enforce = a ? a->enforce : 0;
    if (a) a->enforce = 0;
    end_spans(t); /* before the server span ends, in done */
    t->done(t, st, nres);
    release(t, reusable, st == TYCHO_TASK_NOMEM);
    if (a) a->enforce = enforce;
}

/* t suspends: checks its deadline every quarter of its time limit (10 to
 * 250 ms) from now on, while any task lives. */
static void ensure_sweep(tycho_lua_sched_t *s, const tycho_lua_task_t *t)
{
    if (s->sweep_on || !s->sweep || !t->deadline_ns) return;
    uint64_t ms = (t->deadline_ns - t->start_ns) / 4000000;
    if (ms < 10) ms = 10;
    if (ms > 250) ms = 250;
    uv_timer_start(s->sweep, sweep_cb, ms, ms);
    s->sweep_on = 1;
}

static void step(tycho_lua_task_t *t, int nargs)
{
    tycho_lua_sched_t *s = t->sched;
    for (;;) {
        tycho_lua_task_t *prev = tls_current;
        const tycho_log_context_t *prev_log =
            tycho_log_get_context(); /* a pointer: restored as is */
        int prev_enforce = s->alloc ? s->alloc->enforce : 0;
        lua_State *prev_co = NULL;
        uint64_t prev_deadline = 0;
        tls_current = t;
        tycho_log_set_context(&t->logctx);
        t->running = 1;
        t->suspended = 0;
        t->armed = 0;
        if (s->alloc) s->alloc->enforce = !t->unlimited;
        if (s->watchdog) {
            prev_co = prev ? prev->co : NULL;
            prev_deadline = tycho_watchdog_enter(s->watchdog, t->co, t->deadline_ns);
        }
        int status = lua_resume(t->co, nargs);
        if (s->watchdog && tycho_watchdog_leave(s->watchdog, prev_co, prev_deadline))
            t->cpu_timeout = 1;
        if (s->alloc) s->alloc->enforce = prev_enforce;
        t->running = 0;
        tls_current = prev;
        tycho_log_set_context(prev_log);

        if (status == LUA_YIELD && t->cpu_timeout) { /* yielded by the watchdog's hook */
            lua_settop(t->co, 0);
            lua_pushliteral(t->co, "handler timeout: ran past TYCHO_HANDLER_TIMEOUT without "
                                   "yielding");
        }
        tycho_lua_op_t *op = t->op;
        if (status == LUA_YIELD && !t->cpu_timeout && op && t->armed && !op->started &&
            !t->cancelled) {
            op->started = 1;
            t->suspended = 1;
            ensure_sweep(s, t);
            if (op->start) {
                t->starting = 1;
                op->start(op);
                t->starting = 0;
            }
            if (t->resume_pending) { /* completed synchronously */
                t->resume_pending = 0;
                nargs = t->resume_nres;
                continue;
            }
            return;
        }
        if (op) { /* registered but never started: the yield failed, or the task was dropped */
            t->op = NULL;
            op->cancel(op);
        }
        if (t->cancelled) {
            release(t, status == 0, 0);
            return;
        }
        int st, nres;
        if (status == 0) {
            st = TYCHO_TASK_OK;
            nres = lua_gettop(t->co);
        } else if (status == LUA_YIELD && t->cpu_timeout) {
            st = TYCHO_TASK_CPU_TIMEOUT;
            nres = 1;
            s->cpu_timeouts++;
        } else if (status == LUA_YIELD) {
            /* a bare coroutine.yield(): nothing would ever resume it. Worded
             * for a handler and a `tycho spec` block alike. */
            lua_settop(t->co, 0);
            lua_pushliteral(t->co, "coroutine.yield() outside a coroutine of your own is not "
                                   "allowed here (use tycho.time.sleep(0) to let other requests "
                                   "run)");
            st = TYCHO_TASK_ERROR;
            nres = 1;
        } else {
            st = t->cpu_timeout         ? TYCHO_TASK_CPU_TIMEOUT
                 : status == LUA_ERRMEM ? TYCHO_TASK_NOMEM
                                        : TYCHO_TASK_ERROR;
            nres = 1;
            if (st == TYCHO_TASK_CPU_TIMEOUT) s->cpu_timeouts++;
            if (st == TYCHO_TASK_NOMEM) s->oom++;
        }
        finish(t, st, nres, status == 0);
        return;
    }
}

int tycho_lua_task_set_deadline(tycho_lua_task_t *t, double seconds)
{
    tycho_lua_sched_t *s = t->sched;
    t->deadline_ns = seconds > 0 ? t->start_ns + (uint64_t)(seconds * 1e9) : 0;
    if (t->deadline_ns && !s->watchdog) s->watchdog = tycho_watchdog_register();
    return t->deadline_ns && !s->watchdog ? -1 : 0;
}

void tycho_lua_task_run(tycho_lua_task_t *t, int nargs)
{
    step(t, nargs);
}

void tycho_lua_task_cancel(tycho_lua_task_t *t)
{
    if (!t || !t->live) return;
    if (t->running) {
        t->cancelled = 1;
        return;
    }
    tycho_lua_op_t *op = t->op;
    t->op = NULL;
    if (op) op->cancel(op);
    release(t, 0, 0);
}

void tycho_lua_task_expire(tycho_lua_task_t *t)
{
    if (!t || !t->live || t->running) return;
    tycho_lua_op_t *op = t->op;
    t->op = NULL;
    if (op) op->cancel(op);
    t->sched->timeouts++;
    end_spans(t);
    t->done(t, TYCHO_TASK_TIMEOUT, 0);
    release(t, 0, 0);
}

static void sweep_cb(uv_timer_t *timer)
{
    tycho_lua_sched_t *s = timer->data;
    uint64_t now = uv_hrtime();
    int again = 1;
    while (again) {
        again = 0;
        for (tycho_lua_task_t *t = s->live; t; t = t->next) {
            if (!t->suspended || t->running || !t->deadline_ns || now < t->deadline_ns) continue;
            tycho_lua_task_expire(t);
            again = 1; /* done() may have changed the list: rescan */
            break;
        }
    }
    if (!s->live) {
        uv_timer_stop(timer);
        s->sweep_on = 0;
    }
}

void tycho_lua_sched_cancel_all(tycho_lua_sched_t *s)
{
    while (s->live)
        tycho_lua_task_cancel(s->live);
}

static void free_timer(uv_handle_t *h)
{
    free(h);
}

void tycho_lua_sched_close(tycho_lua_sched_t *s)
{
    tycho_lua_sched_cancel_all(s);
    for (tycho_lua_task_t *t = s->free_tasks, *next; t; t = next) {
        next = t->next;
        free(t);
    }
    s->free_tasks = NULL;
    if (s->sweep) {
        uv_close((uv_handle_t *)s->sweep, free_timer);
        s->sweep = NULL;
    }
    if (s->watchdog) tycho_watchdog_unregister(s->watchdog);
    s->watchdog = NULL;
}

/* --- async.h ---------------------------------------------------------------- */

int tycho_lua_can_suspend(lua_State *L)
{
    tycho_lua_task_t *t = tls_current;
    return t && t->co == L && t->running;
}

int tycho_lua_cannot_wait(lua_State *L, const char *who, int level)
{
    tycho_lua_task_t *t = tls_current;
    /* a task is running but L is not its coroutine: coroutine.wrap/create */
    const char *why = t && t->co != L
                          ? "inside a coroutine the handler created (coroutine.wrap or "
                            "coroutine.create): waiting functions (tycho.time.sleep, outbound "
                            "calls...) work only in the handler's own coroutine"
                          : "waiting functions (tycho.time.sleep, outbound calls...) work only "
                            "in a handler's own coroutine, not at module load time nor inside a "
                            "coroutine the handler created";
    return tycho_lua_error_at(L, level, "%s%scannot wait here: %s", who ? who : "", who ? ": " : "",
                              why);
}

int tycho_lua_suspend(lua_State *L, tycho_lua_op_t *op)
{
    if (!tycho_lua_can_suspend(L)) {
        op->cancel(op);
        return tycho_lua_cannot_wait(L, NULL, 1);
    }
    tycho_lua_task_t *t = tls_current;
    if (t->op) { /* a previous suspend whose yield failed (caught by pcall) */
        tycho_lua_op_t *stale = t->op;
        t->op = NULL;
        stale->cancel(stale);
    }
    op->task = t;
    op->started = 0;
    t->op = op;
    /* LuaJIT raises "attempt to yield across C-call boundary" here when the
     * call came through a C function (table.sort, gsub...): op then stays
     * unstarted and is cancelled when the task yields or ends. */
    int rc = lua_yield(L, 0);
    t->armed = 1; /* reached only when the yield is accepted */
    return rc;
}

lua_State *tycho_lua_op_thread(const tycho_lua_op_t *op)
{
    return op->task->co;
}

uv_loop_t *tycho_lua_op_loop(const tycho_lua_op_t *op)
{
    return op->task->sched->loop;
}

void tycho_lua_op_resume(tycho_lua_op_t *op, int nresults)
{
    tycho_lua_task_t *t = op->task;
    if (!t || t->op != op) return; /* contract violation: ignore rather than corrupt */
    t->op = NULL;
    if (t->starting) {
        t->resume_pending = 1;
        t->resume_nres = nresults;
        return;
    }
    step(t, nresults);
}
