/* Unit tests of exporters/export_fifo: allocations released oldest first
 * keep their bytes until released, whatever the mix of small items and
 * items bigger than a chunk, and chunks are reused rather than kept. */
#include "exporters/export_fifo.h"

#include <setjmp.h>
#include <stdalign.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#define SLOTS 64

typedef struct held {
    unsigned char *p[SLOTS];
    size_t n[SLOTS];
    size_t head, count, seq;
} held_t;

static size_t size_for(size_t seq)
{
    return seq % 97 == 0 ? 70000 + seq % 5 : 1 + (seq * 37) % 900; /* now and then > a chunk */
}

static void add(tycho_export_fifo_t *f, held_t *h)
{
    size_t i = (h->head + h->count) % SLOTS, n = size_for(h->seq);
    h->p[i] = tycho_export_fifo_alloc(f, n);
    assert_non_null(h->p[i]);
    assert_int_equal((uintptr_t)h->p[i] % alignof(max_align_t), 0);
    memset(h->p[i], (int)(h->seq & 0xff), n);
    h->n[i] = n;
    h->count++;
    h->seq++;
}

static void drop(tycho_export_fifo_t *f, held_t *h)
{
    size_t i = h->head, seq = h->seq - h->count;
    for (size_t k = 0; k < h->n[i]; k++)
        assert_int_equal(h->p[i][k], seq & 0xff); /* untouched by later allocations */
    tycho_export_fifo_release(f);
    h->head = (h->head + 1) % SLOTS;
    h->count--;
}

static void test_fifo_order(void **state)
{
    (void)state;
    tycho_export_fifo_t f = TYCHO_EXPORT_FIFO_INIT;
    held_t h = {0};
    unsigned seed = 7;
    for (int round = 0; round < 20000; round++) {
        seed = seed * 1103515245u + 12345u;
        if (h.count < SLOTS && (h.count == 0 || (seed >> 16) % 3 != 0))
            add(&f, &h);
        else
            drop(&f, &h);
    }
    while (h.count)
        drop(&f, &h);
    add(&f, &h); /* usable again once everything is released */
    drop(&f, &h);
    tycho_export_fifo_free(&f);
    assert_null(f.head);
    add(&f, &h); /* and after free */
    tycho_export_fifo_free(&f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fifo_order),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
