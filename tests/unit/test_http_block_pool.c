/* Unit tests of the HTTP server's block free list (server/http/block_pool.c):
 * blocks come back in LIFO order, the pool keeps at most
 * TYCHO_BLOCK_POOL_MAX of them (ASan's leak check sees the rest freed), and
 * clear empties it. */
#include "http/block_pool.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

static void test_reuses_last_given(void **state)
{
    (void)state;
    tycho_block_pool_t p;
    tycho_block_pool_init(&p, 64);
    char *a = tycho_block_pool_take(&p), *b = tycho_block_pool_take(&p);
    assert_non_null(a);
    assert_non_null(b);
    memset(a, 1, 64); /* the whole size is usable */
    memset(b, 2, 64);
    tycho_block_pool_give(&p, a);
    tycho_block_pool_give(&p, b);
    tycho_block_pool_give(&p, NULL); /* ignored */
    assert_int_equal(p.n, 2);
    assert_ptr_equal(tycho_block_pool_take(&p), b);
    assert_ptr_equal(tycho_block_pool_take(&p), a);
    assert_int_equal(p.n, 0);
    tycho_block_pool_give(&p, a);
    tycho_block_pool_give(&p, b);
    tycho_block_pool_clear(&p);
    assert_int_equal(p.n, 0);
    tycho_block_pool_clear(&p); /* twice is fine */
}

static void test_keeps_at_most_max(void **state)
{
    (void)state;
    tycho_block_pool_t p;
    tycho_block_pool_init(&p, 16);
    void *blocks[TYCHO_BLOCK_POOL_MAX + 5];
    for (size_t i = 0; i < TYCHO_BLOCK_POOL_MAX + 5; i++)
        assert_non_null(blocks[i] = tycho_block_pool_take(&p));
    for (size_t i = 0; i < TYCHO_BLOCK_POOL_MAX + 5; i++)
        tycho_block_pool_give(&p, blocks[i]); /* the last five are freed */
    assert_int_equal(p.n, TYCHO_BLOCK_POOL_MAX);
    tycho_block_pool_clear(&p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_reuses_last_given),
        cmocka_unit_test(test_keeps_at_most_max),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
