/* watchdog — interrupts Lua code that runs past its deadline without
 * yielding. One process-wide thread polls the registered worker slots every
 * 50 ms; when a slot's running task is past its deadline it signals that
 * worker thread (SIGRTMIN+6), whose handler installs a Lua hook — the same
 * technique as the luajit CLI's Ctrl-C handler. The hook raises "handler
 * timeout" in the running coroutine.
 *
 * Limit: hooks run in the interpreter only, and nothing can safely make
 * compiled code leave its trace from a signal handler (luaJIT_setmode's flush
 * is not async-signal-safe). A loop LuaJIT has compiled into a trace that
 * loops on itself is not interrupted, whatever it does inside (arithmetic,
 * sunk allocations, pcall, tostring, string.format...); a loop that calls a
 * function the JIT cannot compile (os.clock, io.*) runs interpreted and is.
 * docs/routes.md "Limits" lists the cases; jit.off() makes a handler always
 * interruptible. A run still going 2 s after its signal is logged once, by
 * the watchdog thread, naming the worker's thread. Loading route files uses
 * the same slots with tycho_watchdog_enter_raising (TYCHO_LOAD_TIMEOUT).
 *
 * Threading: register/unregister/enter/leave on the worker thread that owns
 * the slot. */
#ifndef TYCHO_LUA_WATCHDOG_H
#define TYCHO_LUA_WATCHDOG_H

#include <lua.h>
#include <stdint.h>

typedef struct tycho_watchdog_slot tycho_watchdog_slot_t;

/* NULL if the watchdog cannot start (then CPU timeouts are not enforced). */
tycho_watchdog_slot_t *tycho_watchdog_register(void);
void tycho_watchdog_unregister(tycho_watchdog_slot_t *s);

/* Replaces the log line about a stuck run (above): fn runs on the watchdog thread (its lock held),
 * once per stuck run, with how late the run is. `tycho spec` ends the
 * process there. NULL restores the log line. Any thread. */
void tycho_watchdog_on_stuck(void (*fn)(double late_seconds));

/* The runs stuck now (signalled, and still going 2 s past their deadline):
 * up to max of them in out, with their thread's name and how late they are.
 * Returns how many there are (which may exceed max). Any thread. */
typedef struct {
    char thread[16];
    double late_seconds;
} tycho_watchdog_stuck_t;
int tycho_watchdog_stuck(tycho_watchdog_stuck_t *out, int max);
/* How many the watchdog's last look (at most 50 ms ago) found: no lock
 * taken, so a metrics callback may call it. */
int tycho_watchdog_stuck_count(void);

/* Marks co as running until leave, with a deadline (uv_hrtime ns; 0 = none).
 * Returns the previous deadline, to restore for nested runs. */
uint64_t tycho_watchdog_enter(tycho_watchdog_slot_t *s, lua_State *co, uint64_t deadline_ns);
/* The same for code that cannot yield (a state loading its route files, the
 * main state rather than a coroutine): past the deadline the hook raises msg
 * (a static string) as a Lua error — again every 1000 instructions if a pcall
 * catches it. *prev_co and the result describe the outer run, for leave. */
uint64_t tycho_watchdog_enter_raising(tycho_watchdog_slot_t *s, lua_State *L, uint64_t deadline_ns,
                                      const char *msg, lua_State **prev_co);
/* Restores the outer run (prev_co/prev_deadline from the enclosing enter, or
 * NULL/0) and removes the hook if it was installed. Returns 1 if the hook fired
 * (interrupted the code) during this run. */
int tycho_watchdog_leave(tycho_watchdog_slot_t *s, lua_State *prev_co, uint64_t prev_deadline);

#endif
