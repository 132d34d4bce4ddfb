/* spec_interrupt — SIGINT and SIGTERM during `tycho spec`. The first one
 * stops the run: the block the run waits for is dropped (spec_block.h) and
 * fails as interrupted, the runner skips what is left but the cleanup hooks
 * (after_each, teardown, finally), stops the servers tycho.test.serve
 * started, and the command prints the summary and exits 128 + the signal
 * (130 for SIGINT). A second one stops at once: the servers still tracked
 * here are killed (SIGKILL) from the signal handler, and the process exits
 * 128 + the signal, with no summary.
 * Threading: start/stop/track/untrack/signal on the spec thread; the signal
 * handler runs on any thread and only touches atomics, uv_async_send, kill,
 * write and _exit, as kill_servers does. */
#ifndef TYCHO_LUA_SPEC_INTERRUPT_H
#define TYCHO_LUA_SPEC_INTERRUPT_H

#include <sys/types.h>
#include <uv.h>

/* Installs the handlers, the loop woken through a uv_async on loop. Returns
 * 0 or a negative uv error (nothing installed then). */
int tycho_spec_interrupt_start(uv_loop_t *loop);
/* Restores the previous handlers and closes the uv_async (the caller runs the
 * loop once more to finish the close). */
void tycho_spec_interrupt_stop(void);

/* The signal that stopped the run, or 0. */
int tycho_spec_interrupt_signal(void);
/* "SIGINT", "SIGTERM", or NULL when no signal stopped the run. */
const char *tycho_spec_interrupt_name(void);

/* A server process started by tycho.test.serve, killed by a second signal
 * (the runner stops it itself otherwise). -1 when the table is full (64). */
int tycho_spec_interrupt_track(pid_t pid);
void tycho_spec_interrupt_untrack(pid_t pid);
/* SIGKILLs the tracked servers, for a process about to _exit without the
 * runner (a second signal, a run stuck in a JIT-compiled loop). Any thread;
 * async-signal-safe. */
void tycho_spec_interrupt_kill_servers(void);

#endif
