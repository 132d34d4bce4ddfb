/* span_pool — a bounded free list of equal-sized heap blocks for one
 * worker's spans: its owner (the worker thread that creates the spans) takes
 * blocks; any thread (the worker, or the telemetry thread after export)
 * gives them back, so a busy worker neither mallocs a span nor has the
 * telemetry thread free one. Givers push onto a lock-free list; the owner
 * takes that whole list with one atomic exchange (no pop by CAS, so no ABA).
 * At most max blocks wait in a pool; past that a given-back block is freed.
 * Lifetime: free a pool only once no thread can give a block to it any more
 * (in tycho, after the workers and the telemetry thread are joined). */
#ifndef TYCHO_TELEMETRY_SPAN_POOL_H
#define TYCHO_TELEMETRY_SPAN_POOL_H

#include <stddef.h>

typedef struct tycho_span_pool tycho_span_pool_t;

/* A pool of blocks of size bytes (at least a pointer), keeping at most max
 * of them. NULL on ENOMEM. */
tycho_span_pool_t *tycho_span_pool_new(size_t size, size_t max);
/* Frees the pool and the blocks waiting in it (NULL is fine). No thread may
 * give to it during or after this call. */
void tycho_span_pool_free(tycho_span_pool_t *p);
/* The owner's thread only: a block of the pool's size (content undefined):
 * a given-back one when there is one, else from malloc. NULL on ENOMEM. */
void *tycho_span_pool_take(tycho_span_pool_t *p);
/* Any thread: hands back a block from tycho_span_pool_take; freed when the
 * pool already holds max. NULL is ignored. */
void tycho_span_pool_give(tycho_span_pool_t *p, void *block);
/* Blocks waiting in the pool now (a snapshot; tests and status). */
size_t tycho_span_pool_held(tycho_span_pool_t *p);

#endif
