/* spec_block — `tycho spec --timeout`: runs one block of a spec (an `it`, a
 * before_each...) as a scheduler task of its own whose deadline is the
 * per-test limit, so the handler-timeout machinery enforces it: past it while
 * waiting, the task is dropped; running without yielding, the watchdog
 * interrupts it. The calling task (the spec run) waits for the block and goes
 * on either way. Spec thread only, except tycho_spec_block_running. */
#ifndef TYCHO_LUA_SPEC_BLOCK_H
#define TYCHO_LUA_SPEC_BLOCK_H

#include <lua.h>

/* tycho._test.run_block(fn, seconds, label) -> "ok", fn's results... |
 * "error", err (fn raised, or the memory limit) | "timeout" |
 * "interrupted", reason (tycho_spec_block_interrupt) | "nomem_caught", n
 * (fn returned, but the memory limit refused n allocations meanwhile and no
 * memory error came out of fn or a request it made: caught as an ordinary
 * error). Waits (yields) while fn waits; seconds 0 = no limit; label names
 * the block for tycho_spec_block_running. After a block that met the limit,
 * a full GC frees the garbage a caught memory error left. */
int tycho_spec_block_run(lua_State *L);

/* The label and limit of the block that is running, for the watchdog thread's
 * report of a run it cannot interrupt (a JIT-compiled loop); "?" when none. */
const char *tycho_spec_block_running(double *seconds);

/* The spec run stops (SIGINT, SIGTERM: spec_interrupt.h): the block it waits
 * for, if any, is dropped as a timed-out one is, and run_block returns
 * "interrupted", reason (copied). Returns 1 if a block was dropped, 0 when
 * none was waited for (none runs, or one runs Lua code without yielding: it
 * goes on to its end or its --timeout). */
int tycho_spec_block_interrupt(const char *reason);

#endif
