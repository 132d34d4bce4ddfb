#include "telemetry/span_pool.h"

#include <stdatomic.h>
#include <stdlib.h>

/* Under ASan a waiting block is poisoned past its link word, so a span used
 * after tycho_span_free is still reported although its block was not freed. */
#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/asan_interface.h>
#define POISON(p, n) ASAN_POISON_MEMORY_REGION((p), (n))
#define UNPOISON(p, n) ASAN_UNPOISON_MEMORY_REGION((p), (n))
#else
#define POISON(p, n) ((void)(p), (void)(n))
#define UNPOISON(p, n) ((void)(p), (void)(n))
#endif

/* The head of a waiting block. */
struct block {
    struct block *next;
};

struct tycho_span_pool {
    _Atomic(struct block *) given; /* pushed by any thread, taken whole by the owner */
    atomic_size_t held;            /* blocks in given and own, and pushes under way */
    struct block *own;             /* the owner's: taken from given, not yet handed out */
    size_t size, max;
};

tycho_span_pool_t *tycho_span_pool_new(size_t size, size_t max)
{
    tycho_span_pool_t *p = calloc(1, sizeof *p);
    if (!p) return NULL;
    atomic_init(&p->given, NULL);
    atomic_init(&p->held, 0);
    p->size = size < sizeof(struct block) ? sizeof(struct block) : size;
    p->max = max;
    return p;
}

static void free_list(tycho_span_pool_t *p, struct block *b)
{
    while (b) {
        struct block *next = b->next;
        UNPOISON((char *)b + sizeof *b, p->size - sizeof *b);
        free(b);
        b = next;
    }
}

void tycho_span_pool_free(tycho_span_pool_t *p)
{
    if (!p) return;
    free_list(p, p->own);
    free_list(p, atomic_load_explicit(&p->given, memory_order_acquire));
    free(p);
}

void *tycho_span_pool_take(tycho_span_pool_t *p)
{
    /* acquire: pairs with the givers' release, so what they wrote to a
     * block (its link, the span it held) happens before its reuse here */
    if (!p->own) p->own = atomic_exchange_explicit(&p->given, NULL, memory_order_acquire);
    struct block *b = p->own;
    if (!b) return malloc(p->size);
    p->own = b->next;
    atomic_fetch_sub_explicit(&p->held, 1, memory_order_relaxed);
    UNPOISON((char *)b + sizeof *b, p->size - sizeof *b);
    return b;
}

/* Counts one more block in the pool; 0 when that would pass max. The count
 * is a bound, not a handshake: relaxed order suffices. */
static int reserve(tycho_span_pool_t *p)
{
    if (atomic_fetch_add_explicit(&p->held, 1, memory_order_relaxed) < p->max) return 1;
    atomic_fetch_sub_explicit(&p->held, 1, memory_order_relaxed);
    return 0;
}

void tycho_span_pool_give(tycho_span_pool_t *p, void *block)
{
    if (!block) return;
    if (!reserve(p)) {
        free(block);
        return;
    }
    struct block *b = block;
    POISON((char *)b + sizeof *b, p->size - sizeof *b);
    b->next = atomic_load_explicit(&p->given, memory_order_relaxed);
    while (!atomic_compare_exchange_weak_explicit(&p->given, &b->next, b, memory_order_release,
                                                  memory_order_relaxed))
        ; /* b->next now holds the head another giver pushed: retry on top of it */
}

size_t tycho_span_pool_held(tycho_span_pool_t *p)
{
    return atomic_load_explicit(&p->held, memory_order_relaxed);
}
