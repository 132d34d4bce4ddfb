/* drain_notice — the "your drain is done" call that consumers and timers owe
 * their caller: armed with the caller's callback when the drain starts,
 * delivered at most once, from the next turn of the loop (never from inside
 * the caller's own call), and dropped without a call on free. Owned by the
 * thread of its loop. */
#ifndef TYCHO_LUA_DRAIN_NOTICE_H
#define TYCHO_LUA_DRAIN_NOTICE_H

#include <uv.h>

typedef struct tycho_drain_notice {
    void (*cb)(void *ud);
    void *ud;
    uv_timer_t *timer; /* set while the call is scheduled */
} tycho_drain_notice_t;

/* Arms n: cb(ud) is owed once the drain is done. */
void tycho_drain_notice_arm(tycho_drain_notice_t *n, void (*cb)(void *ud), void *ud);
/* Schedules the call on loop if one is owed and not yet scheduled. */
void tycho_drain_notice_deliver(tycho_drain_notice_t *n, uv_loop_t *loop);
/* Drops the owed call (and a scheduled one). */
void tycho_drain_notice_cancel(tycho_drain_notice_t *n);

#endif
