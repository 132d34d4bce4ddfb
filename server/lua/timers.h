/* timers — periodic handlers declared by route files (docs/routes.md,
 * "Timers"):
 *
 *   return {
 *     { "GET", "/x", handler },
 *     timers = {
 *       { name = "sample-log", every = 30, handler = function() ... end,
 *         timeout = 10 },                     -- optional; default TYCHO_HANDLER_TIMEOUT
 *     },
 *   }
 *
 * Under `tycho serve`, worker 0 runs each timer's handler every `every`
 * seconds (first run `every` seconds after start) in its own task (a
 * coroutine: it may wait). Runs of one timer never overlap: a run still
 * going when the next is due makes that tick skipped (logged with the count
 * of skips). Errors and timeouts are logged with the timer's name and the
 * traceback. A reload rebinds the timers by name to the new generation: a
 * name still declared keeps its schedule (restarted if `every` changed) and
 * its next run uses the new handler; a name no longer declared stops firing;
 * a run in progress finishes on the handler it started with. Drain
 * (SIGTERM): ticks stop, running handlers finish, then done runs. Each run
 * is traced (core/work_trace.h): a root span "timer <name>", INTERNAL,
 * parent of the calls it makes, ERROR when it fails or is cut. Counted on
 * /metrics: tycho_timer_runs_total{timer,outcome} (ok, error, timeout, cut;
 * at 0 from the declaration), tycho_timer_skipped_total{timer},
 * tycho_timer_run_duration_seconds{timer}.
 * Worker thread only. */
#ifndef TYCHO_LUA_TIMERS_H
#define TYCHO_LUA_TIMERS_H

#include "core/config.h"
#include "lua/gen.h"
#include "lua/scheduler.h"

#include <lua.h>
#include <uv.h>

typedef struct tycho_timers tycho_timers_t;

/* Loader: the `timers` value of a route file is at idx of g->L; checks it and
 * records each timer in the generation's registry. 0, or -1 with *err
 * ("routes/x.lua:12: timers[1] (sample-log): every must be a number > 0"). */
int tycho_lua_timers_read(tycho_lua_gen_t *g, const char *file, int idx, char **err);
/* Calls fn for each timer g declares (name, every seconds, "file:line"), in
 * no set order. The strings live while g does. */
void tycho_lua_timers_each(tycho_lua_gen_t *g,
                           void (*fn)(void *ud, const char *name, double every, const char *where),
                           void *ud);

/* A worker's timers on the runtime's loop and scheduler. current_gen returns
 * the generation new runs use. NULL on out of memory. */
tycho_timers_t *tycho_timers_new(uv_loop_t *loop, tycho_lua_sched_t *sched,
                                 const tycho_config_t *cfg,
                                 tycho_lua_gen_t *(*current_gen)(void *ud), void *ud);
/* (Re)binds to g's declarations: starts, updates or stops timers. */
void tycho_timers_bind(tycho_timers_t *tm, tycho_lua_gen_t *g);
/* Stops firing; done(ud) runs (later, on the loop) once running handlers
 * finished. */
void tycho_timers_drain(tycho_timers_t *tm, void (*done)(void *ud), void *ud);
/* Cancels running handlers and frees; handles close on the loop. */
void tycho_timers_free(tycho_timers_t *tm);

#endif
