/* ring — a bounded single-producer single-consumer queue of pointers (C11
 * atomics; head and tail on their own cache lines). Exactly one thread may
 * push (a worker) and exactly one may pop (the telemetry thread); depth may
 * be read anywhere. The ring does not wake the consumer: pair it with a
 * uv_async or a timer. When it is full the producer drops and counts
 * (tycho_dropcount_add), it never waits. */
#ifndef TYCHO_TELEMETRY_RING_H
#define TYCHO_TELEMETRY_RING_H

#include <stdalign.h>
#include <stdatomic.h>
#include <stddef.h>

typedef struct tycho_ring {
    alignas(64) atomic_size_t head; /* next slot to pop: written by the consumer */
    size_t tail_cache;              /* consumer's last view of tail */
    alignas(64) atomic_size_t tail; /* next slot to push: written by the producer */
    size_t head_cache;              /* producer's last view of head */
    alignas(64) size_t mask;
    void **slots;
} tycho_ring_t;

/* A ring of at least capacity slots (rounded up to a power of two, >= 2).
 * NULL on ENOMEM or a capacity of 0 / above 2^30. */
tycho_ring_t *tycho_ring_new(size_t capacity);
/* Frees the ring, not the pointers still queued (pop them first). */
void tycho_ring_free(tycho_ring_t *r);
size_t tycho_ring_capacity(const tycho_ring_t *r);

/* Producer only. p must not be NULL. 0, or -EAGAIN when full. */
int tycho_ring_try_push(tycho_ring_t *r, void *p);
/* Consumer only. The oldest pointer, or NULL when empty. */
void *tycho_ring_pop(tycho_ring_t *r);
/* Producer only: pointers pushed so far (what was dropped when full is
 * not counted). */
size_t tycho_ring_pushed(const tycho_ring_t *r);
/* Queued entries, approximate while both sides run. Any thread. */
size_t tycho_ring_depth(const tycho_ring_t *r);

#endif
