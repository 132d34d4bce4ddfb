/* scheduler — runs Lua functions as tasks: one coroutine each (pooled per
 * generation), resumed by the worker loop when the operation they wait on
 * completes (async.h). Owns the handler deadline: a suspended task past
 * TYCHO_HANDLER_TIMEOUT (or its own, tycho_lua_task_set_deadline) is
 * cancelled (done status TYCHO_TASK_TIMEOUT), and a task running without
 * yielding that long is interrupted by the watchdog (watchdog.h). One scheduler per worker runtime;
 * worker thread only. */
#ifndef TYCHO_LUA_SCHEDULER_H
#define TYCHO_LUA_SCHEDULER_H

#include "lua/alloc.h"
#include "lua/async.h"
#include "lua/gen.h"
#include "lua/request.h"
#include "core/log.h"
#include "core/ratelog.h"

#include <stdint.h>
#include <uv.h>

enum {
    TYCHO_TASK_OK = 0,
    TYCHO_TASK_ERROR = 1,       /* Lua error: error value on the coroutine stack (1 result) */
    TYCHO_TASK_NOMEM = 2,       /* memory limit: error value on the stack */
    TYCHO_TASK_TIMEOUT = 3,     /* suspended past the deadline: no results */
    TYCHO_TASK_CPU_TIMEOUT = 4, /* ran past the deadline without yielding: error on the stack */
};

/* Called once when the task ends (not after tycho_lua_task_cancel). For OK,
 * the nres results are on t->co; they stay there until done returns. */
typedef void (*tycho_lua_task_done_fn)(tycho_lua_task_t *t, int status, int nres);

typedef struct tycho_lua_sched tycho_lua_sched_t;

struct tycho_lua_task {
    tycho_lua_sched_t *sched;
    tycho_lua_gen_t *gen;
    lua_State *co;
    int co_ref;
    tycho_lua_op_t *op; /* pending operation */
    tycho_lua_task_done_fn done;
    void *ud;
    uint64_t serial; /* bumped each time the task struct is reused */
    uint64_t start_ns, deadline_ns;
    tycho_log_context_t logctx; /* this thread's log context while the task runs */
    tycho_lua_reqctx_t rq;      /* request tasks: the exchange, route and params */
    tycho_lua_task_t *prev, *next;
    int resume_nres;
    /* a tycho.all function's, when a span was open where tycho.all was
     * called: registry ref of a table whose [0] is that span, which the
     * function's own spans and calls go under (lib_trace.h); 0: none, its
     * request's span */
    int trace_base_ref;
    unsigned spans : 1; /* tycho.trace started a child span (lib_trace.h) */
    /* runs outside the Lua memory limit (the tycho spec run: busted's own
     * code; the blocks it runs and the requests they make are held to it) */
    unsigned unlimited : 1;
    unsigned running : 1, suspended : 1, starting : 1, resume_pending : 1, cancelled : 1,
        cpu_timeout : 1, live : 1, armed : 1;
};

struct tycho_lua_sched {
    uv_loop_t *loop;
    tycho_lua_alloc_t *alloc;
    double timeout;         /* seconds, 0 = none */
    tycho_lua_task_t *live; /* every running or suspended task */
    tycho_lua_task_t *free_tasks;
    size_t nlive;
    uv_timer_t *sweep; /* deadline checks while tasks are suspended */
    int sweep_on;
    void (*gen_release)(tycho_lua_gen_t *g, void *ud); /* inflight dropped to 0 on a retired gen */
    void *gen_release_ud;
    struct tycho_watchdog_slot *watchdog;
    unsigned long long cpu_timeouts, timeouts, oom;
    tycho_ratelog_t retained_log; /* memory still near the limit after an OOM's GC */
};

int tycho_lua_sched_init(tycho_lua_sched_t *s, uv_loop_t *loop, tycho_lua_alloc_t *alloc,
                         double timeout);
/* Cancels every live task (ops cancelled, no done callbacks) and closes the
 * timer; the loop must run once more to finish the close. */
void tycho_lua_sched_close(tycho_lua_sched_t *s);
/* Cancels every live task (no done callbacks); the scheduler stays usable. */
void tycho_lua_sched_cancel_all(tycho_lua_sched_t *s);

/* A task on generation g, its coroutine ready: push the function and its
 * arguments on t->co, then call tycho_lua_task_run. NULL on out of memory. */
tycho_lua_task_t *tycho_lua_task_new(tycho_lua_sched_t *s, tycho_lua_gen_t *g,
                                     tycho_lua_task_done_fn done, void *ud);
void tycho_lua_task_run(tycho_lua_task_t *t, int nargs);
/* Before tycho_lua_task_run: replaces the task's deadline (TYCHO_HANDLER_TIMEOUT)
 * with seconds from its start (0 = none), enforced the same way: suspended
 * past it, done with TYCHO_TASK_TIMEOUT; running, interrupted by the
 * watchdog. -1 if the watchdog cannot start (the deadline then holds only
 * while the task is suspended). */
int tycho_lua_task_set_deadline(tycho_lua_task_t *t, double seconds);
/* Drops a task that has not ended: cancels its pending op and abandons its
 * coroutine; done is not called. Safe while the task is running (it then
 * ends at its next yield or return, silently). */
void tycho_lua_task_cancel(tycho_lua_task_t *t);
/* Ends a suspended task as one past its deadline, now: its op cancelled,
 * its open spans ended, done with TYCHO_TASK_TIMEOUT. What the deadline
 * sweep does; also for a task whose wait can only end in its own timeout
 * (tycho.all when one of its functions ran out of the shared deadline).
 * Nothing for a task that has ended or is running. */
void tycho_lua_task_expire(tycho_lua_task_t *t);
/* The task whose coroutine is running on this thread, or NULL. */
tycho_lua_task_t *tycho_lua_task_current(void);

/* The runtime's pieces, for the layer's own modules (commands, tycho._test). */
struct tycho_lua_runtime;
tycho_lua_gen_t *tycho_lua_runtime_current_gen(struct tycho_lua_runtime *rt);
tycho_lua_sched_t *tycho_lua_runtime_sched(struct tycho_lua_runtime *rt);
/* tycho.test hooks: switch the routes dir (a reload), change the limits, and
 * the runtime's own config copy (trusted proxies). */
int tycho_lua_runtime_use_routes(struct tycho_lua_runtime *rt, const char *dir, char **err);
void tycho_lua_runtime_set_limits(struct tycho_lua_runtime *rt, double handler_timeout,
                                  size_t memory_limit);
tycho_config_t *tycho_lua_runtime_config(struct tycho_lua_runtime *rt);

#endif
