/* wakeup — lets any thread wake a libuv loop that runs on another thread:
 * an eventfd that signal writes to (never blocks, no lock) and a uv_poll on
 * the loop that calls back once for however many signals came since. Not a
 * uv_async_t: on a core shared with the signalling thread, a loop woken by
 * uv_async_send's write ran before the sender had returned from it, and spun
 * in libuv (up to ~1000 pause instructions, then a yield) on every wake-up.
 *
 * init (any thread) -> signal (any thread, any time until free) ->
 * start / stop (the loop's thread) -> free (no thread signals any more). */
#ifndef TYCHO_CORE_WAKEUP_H
#define TYCHO_CORE_WAKEUP_H

#include <uv.h>

typedef struct tycho_wakeup {
    int fd; /* -1 before init and after free */
    uv_poll_t poll;
    int started;
    void (*cb)(void *ud);
    void *ud;
} tycho_wakeup_t;

/* 0 or -errno (the eventfd could not be made). */
int tycho_wakeup_init(tycho_wakeup_t *w);
/* Calls cb(ud) on loop after signals. 0 or a negative uv error. */
int tycho_wakeup_start(tycho_wakeup_t *w, uv_loop_t *loop, void (*cb)(void *ud), void *ud);
void tycho_wakeup_signal(tycho_wakeup_t *w);
/* Stops the callbacks and closes the poll handle: w must stay in memory
 * until the loop has run its close callbacks. Idempotent. */
void tycho_wakeup_stop(tycho_wakeup_t *w);
/* Closes the eventfd. Idempotent; fine without init when fd is -1. */
void tycho_wakeup_free(tycho_wakeup_t *w);

#endif
