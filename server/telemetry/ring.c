#include "telemetry/ring.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

tycho_ring_t *tycho_ring_new(size_t capacity)
{
    if (capacity == 0 || capacity > ((size_t)1 << 30)) return NULL;
    size_t cap = 2;
    while (cap < capacity)
        cap <<= 1;
    tycho_ring_t *r;
    if (posix_memalign((void **)&r, 64, sizeof *r) != 0) return NULL;
    memset(r, 0, sizeof *r);
    r->slots = calloc(cap, sizeof *r->slots);
    if (!r->slots) {
        free(r);
        return NULL;
    }
    atomic_init(&r->head, 0);
    atomic_init(&r->tail, 0);
    r->mask = cap - 1;
    return r;
}

void tycho_ring_free(tycho_ring_t *r)
{
    if (!r) return;
    free(r->slots);
    free(r);
}

size_t tycho_ring_capacity(const tycho_ring_t *r)
{
    return r->mask + 1;
}

int tycho_ring_try_push(tycho_ring_t *r, void *p)
{
    size_t t = atomic_load_explicit(&r->tail, memory_order_relaxed);
    if (t - r->head_cache > r->mask) {
        /* Looks full: refresh our view of the consumer. acquire pairs with
         * the consumer's release so its read of the slot is done. */
        r->head_cache = atomic_load_explicit(&r->head, memory_order_acquire);
        if (t - r->head_cache > r->mask) return -EAGAIN;
    }
    r->slots[t & r->mask] = p;
    atomic_store_explicit(&r->tail, t + 1, memory_order_release);
    return 0;
}

void *tycho_ring_pop(tycho_ring_t *r)
{
    size_t h = atomic_load_explicit(&r->head, memory_order_relaxed);
    if (h == r->tail_cache) {
        r->tail_cache = atomic_load_explicit(&r->tail, memory_order_acquire);
        if (h == r->tail_cache) return NULL;
    }
    void *p = r->slots[h & r->mask];
    atomic_store_explicit(&r->head, h + 1, memory_order_release);
    return p;
}

size_t tycho_ring_pushed(const tycho_ring_t *r)
{
    return atomic_load_explicit(&((tycho_ring_t *)r)->tail, memory_order_relaxed);
}

size_t tycho_ring_depth(const tycho_ring_t *r)
{
    size_t h = atomic_load_explicit(&((tycho_ring_t *)r)->head, memory_order_relaxed);
    size_t t = atomic_load_explicit(&((tycho_ring_t *)r)->tail, memory_order_relaxed);
    size_t d = t - h; /* h was read first, so t >= h; both may have moved since */
    return d > r->mask + 1 ? r->mask + 1 : d;
}
