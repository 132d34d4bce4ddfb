/* runtime — a worker's Lua application: the current generation of routes
 * (gen.h), the retired ones still finishing requests, the coroutine scheduler
 * and the Lua memory accounting. It is the tycho_handler_t the HTTP engine
 * dispatches exchanges to. Everything here runs on the worker thread that
 * created the runtime, except tycho_lua_runtime_memory/_generation (a racy
 * read, fine for metrics) and tycho_lua_check (any thread, own state). */
#ifndef TYCHO_LUA_RUNTIME_H
#define TYCHO_LUA_RUNTIME_H

#include "core/config.h"
#include "http/exchange.h"

#include <stddef.h>
#include <stdint.h>
#include <uv.h>

typedef struct tycho_lua_runtime tycho_lua_runtime_t;

/* Creates a worker's Lua runtime on `loop` (worker thread) and loads
 * generation 1 from cfg->routes_dir (+ the framework lua dir on package.path).
 * cfg is copied. NULL + *err (malloc'd, "routes/x.lua:12: ...") on failure. */
tycho_lua_runtime_t *tycho_lua_runtime_new(uv_loop_t *loop, const tycho_config_t *cfg,
                                           int worker_id, char **err);
/* Same, for tycho spec: a missing routes dir is not an error (no routes). */
tycho_lua_runtime_t *tycho_lua_runtime_new_for_specs(uv_loop_t *loop, const tycho_config_t *cfg,
                                                     char **err);

/* The handler the HTTP engine dispatches exchanges to. It sets x->route to the
 * matched pattern (a string interned for the runtime's lifetime), answers 404
 * / 405 (+Allow) / OPTIONS (204 + Allow) itself, runs the handler otherwise;
 * its final_status tells those answers from a request's head alone. */
tycho_handler_t tycho_lua_runtime_handler(tycho_lua_runtime_t *rt);

/* A reload in two phases, so that the workers of a process all switch or none
 * does: prepare loads a new generation next to the serving one and keeps it
 * pending (0), or returns -1 with *err (malloc'd; also kept as last_error) and
 * keeps nothing; commit swaps the pending one in (the old one is freed once
 * its in-flight requests finish; the generation number goes up by one);
 * discard drops it. commit and discard do nothing without a pending one; a
 * prepare replaces the one pending. */
int tycho_lua_runtime_prepare(tycho_lua_runtime_t *rt, char **err);
void tycho_lua_runtime_commit(tycho_lua_runtime_t *rt);
void tycho_lua_runtime_discard(tycho_lua_runtime_t *rt);
/* prepare, then commit when it worked (a runtime on its own: tycho._test). */
int tycho_lua_runtime_reload(tycho_lua_runtime_t *rt, char **err);
uint64_t tycho_lua_runtime_generation(const tycho_lua_runtime_t *rt);
/* Which load of the routes serves (tycho_lua_gen_opts_t.load: the stamp of
 * its metric definitions), the same on every worker once a reload ended. */
uint64_t tycho_lua_runtime_load(const tycho_lua_runtime_t *rt);
size_t tycho_lua_runtime_memory(const tycho_lua_runtime_t *rt); /* bytes, all generations */

typedef struct tycho_lua_runtime_stats {
    uint64_t generation;
    double loaded_at;       /* unix seconds when the serving generation was loaded */
    const char *last_error; /* last failed reload ("" when the last attempt succeeded) */
    double last_error_at;   /* unix seconds, 0 if none */
    size_t routes;
    size_t memory, memory_peak, memory_limit;
    size_t inflight; /* live request tasks */
    size_t retired;  /* retired generations still finishing requests */
    unsigned long long reloads, reload_failures, handler_errors, timeouts, cpu_timeouts, oom;
} tycho_lua_runtime_stats_t;
/* Worker thread; strings valid until the next reload. */
void tycho_lua_runtime_stats(const tycho_lua_runtime_t *rt, tycho_lua_runtime_stats_t *out);
/* Calls fn for each route of the serving generation (method, pattern, "file:line"). */
void tycho_lua_runtime_routes(const tycho_lua_runtime_t *rt,
                              void (*fn)(void *ud, const char *method, const char *pattern,
                                         const char *where),
                              void *ud);

/* Stops accepting work (new exchanges get 503); in-flight coroutines continue
 * until they finish or tycho_lua_runtime_free. */
void tycho_lua_runtime_stop(tycho_lua_runtime_t *rt);
/* Drain (SIGTERM): SQS consumers stop polling and finish their in-flight
 * messages, timers stop firing and finish a running handler; done(ud) runs
 * once they have (at once when there are none). */
void tycho_lua_runtime_drain(tycho_lua_runtime_t *rt, void (*done)(void *ud), void *ud);
/* On the worker thread, after the loop drained: cancels what is left (pending
 * ops cancelled, exchanges NOT finished: their owner is gone), closes every
 * state, and closes its uv handles — run the loop once more
 * (uv_run(loop, UV_RUN_DEFAULT)) before uv_loop_close so they finish closing. */
void tycho_lua_runtime_free(tycho_lua_runtime_t *rt);

/* Loads everything in a scratch state without serving (the pre-check of a
 * reload, on a thread of its own), the JIT off and within cfg->load_timeout;
 * print and io writes to stdout are log lines there, as in the workers. Any thread but a worker's
 * (it registers a watchdog slot of its own). 0, or -1 + *err (malloc'd,
 * "routes/x.lua:12: ..."). */
int tycho_lua_check(const tycho_config_t *cfg, char **err);
/* What tycho check lists of a load that worked: each route (method, pattern,
 * "file:line"), timer (name, every seconds, "file:line") and SQS consumer
 * (queue, "file:line"); a NULL function lists nothing of its kind. Timers
 * and consumers come in no set order. */
typedef struct tycho_lua_listing {
    void (*route)(void *ud, const char *method, const char *pattern, const char *where);
    void (*timer)(void *ud, const char *name, double every, const char *where);
    void (*consumer)(void *ud, const char *queue, const char *where);
    void *ud;
} tycho_lua_listing_t;
/* Same for tycho check (print and io.write write to stdout), and on success
 * calls list's functions. */
int tycho_lua_check_routes(const tycho_config_t *cfg, const tycho_lua_listing_t *list, char **err);

#endif
