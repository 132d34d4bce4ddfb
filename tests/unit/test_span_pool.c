/* span_pool: blocks come back to their pool and are reused clean, from any
 * thread, up to the pool's bound; spans left at shutdown go back before the
 * pools are freed (tycho_hub_free). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "core/config.h"
#include "core/request_obs.h"
#include "core/telemetry_hub.h"
#include "telemetry/span.h"
#include "telemetry/span_pool.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#define NSPANS 64

static const uint8_t TID[16] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};
static const uint8_t SID[8] = {1, 1, 1, 1, 1, 1, 1, 1};
static const uint8_t PID[8] = {2, 2, 2, 2, 2, 2, 2, 2};

/* Sets every kind of field, and enough to need an overflow chunk. */
static void dirty(tycho_span_t *s)
{
    static char big[3000];
    memset(big, 'x', sizeof big - 1);
    tycho_span_set_ids(s, TID, SID, PID, 1, 1);
    assert_int_equal(tycho_span_set_trace_state(s, "k=v"), 0);
    assert_int_equal(tycho_span_set_attr(s, "big", TYCHO_AV_STR(big)), 0);
    assert_int_equal(tycho_span_set_key(s, TYCHO_KEY_URL_PATH, TYCHO_AV_STR("/p")), 0);
    assert_non_null(tycho_span_add_event(s, "ev", 1));
    assert_non_null(tycho_span_add_link(s, TID, SID, 1, 1, "a=b"));
    tycho_span_set_status(s, TYCHO_SPAN_STATUS_ERROR, "boom");
    tycho_span_end(s, 0);
    assert_non_null(s->chunks);
}

static char *json(tycho_span_t *s)
{
    s->start_ns = 1; /* the clock is not what is compared */
    tycho_buf_t b = TYCHO_BUF_INIT;
    assert_int_equal(tycho_span_to_json(s, &b), 0);
    return b.data;
}

/* s is what tycho_span_new makes with the same arguments. */
static void assert_fresh(tycho_span_t *s, tycho_span_pool_t *pool)
{
    tycho_span_t *fresh = tycho_span_new("op", TYCHO_SPAN_KIND_CLIENT, NULL);
    assert_non_null(fresh);
    char *a = json(s), *b = json(fresh);
    assert_string_equal(a, b);
    free(a);
    free(b);
    assert_ptr_equal(s->pool, pool);
    assert_null(s->chunks);
    assert_int_equal(s->used, fresh->used);
    assert_int_equal(s->left, fresh->left);
    assert_int_equal(s->end_ns, 0);
    assert_int_equal(s->attrs.n + s->attrs.cap + s->attrs.dropped + s->attrs.known, 0);
    assert_int_equal(s->nevents + s->events_cap + s->dropped_events, 0);
    assert_int_equal(s->nlinks + s->links_cap + s->dropped_links, 0);
    assert_int_equal(s->has_parent + s->parent_is_remote + s->flags, 0);
    tycho_span_free(fresh);
}

static void test_reuse_is_clean(void **state)
{
    (void)state;
    tycho_span_pool_t *pool = tycho_span_pool_new(TYCHO_SPAN_BLOCK_SIZE, 4);
    assert_non_null(pool);
    tycho_span_t *s = tycho_span_new_from(pool, "first", TYCHO_SPAN_KIND_SERVER, NULL);
    assert_non_null(s);
    dirty(s);
    void *block = s;
    tycho_span_free(s);
    assert_int_equal(tycho_span_pool_held(pool), 1);
    s = tycho_span_new_from(pool, "op", TYCHO_SPAN_KIND_CLIENT, NULL);
    assert_ptr_equal(s, block);
    assert_int_equal(tycho_span_pool_held(pool), 0);
    assert_fresh(s, pool);
    tycho_span_free(s);
    tycho_span_pool_free(pool);
}

static void *free_all(void *arg)
{
    tycho_span_t **spans = arg;
    for (int i = 0; i < NSPANS; i++)
        tycho_span_free(spans[i]);
    return NULL;
}

static int cmp_ptr(const void *a, const void *b)
{
    uintptr_t x = (uintptr_t) * (void *const *)a, y = (uintptr_t) * (void *const *)b;
    return x < y ? -1 : x > y;
}

static void test_given_back_by_another_thread(void **state)
{
    (void)state;
    tycho_span_pool_t *pool = tycho_span_pool_new(TYCHO_SPAN_BLOCK_SIZE, NSPANS);
    tycho_span_t *spans[NSPANS];
    void *blocks[NSPANS];
    for (int i = 0; i < NSPANS; i++) {
        spans[i] = tycho_span_new_from(pool, "s", TYCHO_SPAN_KIND_SERVER, NULL);
        assert_non_null(spans[i]);
        dirty(spans[i]);
        blocks[i] = spans[i];
    }
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, free_all, spans), 0);
    assert_int_equal(pthread_join(th, NULL), 0);
    assert_int_equal(tycho_span_pool_held(pool), NSPANS);
    qsort(blocks, NSPANS, sizeof *blocks, cmp_ptr);
    for (int i = 0; i < NSPANS; i++) {
        spans[i] = tycho_span_new_from(pool, "op", TYCHO_SPAN_KIND_CLIENT, NULL);
        void *p = spans[i];
        assert_non_null(bsearch(&p, blocks, NSPANS, sizeof *blocks, cmp_ptr));
        assert_fresh(spans[i], pool);
    }
    assert_int_equal(tycho_span_pool_held(pool), 0);
    free_all(spans);
    tycho_span_pool_free(pool); /* frees what it holds: no leak under valgrind/ASan */
}

static void test_bound(void **state)
{
    (void)state;
    tycho_span_pool_t *pool = tycho_span_pool_new(TYCHO_SPAN_BLOCK_SIZE, 2);
    tycho_span_t *spans[5];
    for (int i = 0; i < 5; i++)
        spans[i] = tycho_span_new_from(pool, "s", TYCHO_SPAN_KIND_SERVER, NULL);
    for (int i = 0; i < 5; i++) {
        tycho_span_free(spans[i]); /* past two: freed (a leak checker sees the rest) */
        assert_int_equal(tycho_span_pool_held(pool), i < 2 ? (size_t)i + 1 : 2);
    }
    /* the two last given back are the two kept: reused last in, first out */
    assert_ptr_equal(tycho_span_pool_take(pool), spans[1]);
    assert_ptr_equal(tycho_span_pool_take(pool), spans[0]);
    tycho_span_pool_give(pool, spans[0]);
    tycho_span_pool_give(pool, spans[1]);
    tycho_span_pool_free(pool);
}

/* Several givers at once while the owner takes: each block comes out once,
 * the count passes the bound by at most one a giver while they give, and
 * not at all once they are done. */
#define GIVERS 4

typedef struct {
    tycho_span_pool_t *pool;
    void *blocks[NSPANS];
} giver_t;

static void *give_all(void *arg)
{
    giver_t *g = arg;
    for (int i = 0; i < NSPANS; i++)
        tycho_span_pool_give(g->pool, g->blocks[i]);
    return NULL;
}

static void test_concurrent_givers(void **state)
{
    (void)state;
    const size_t max = GIVERS * NSPANS / 2;
    tycho_span_pool_t *pool = tycho_span_pool_new(64, max);
    giver_t g[GIVERS];
    pthread_t th[GIVERS];
    for (int t = 0; t < GIVERS; t++) {
        g[t].pool = pool;
        for (int i = 0; i < NSPANS; i++)
            assert_non_null(g[t].blocks[i] = malloc(64));
    }
    for (int t = 0; t < GIVERS; t++)
        assert_int_equal(pthread_create(&th[t], NULL, give_all, &g[t]), 0);
    void *taken[GIVERS * NSPANS];
    size_t n = 0;
    while (n < GIVERS * NSPANS) {
        /* a giver past the bound counts itself in, then out again before
         * freeing its block: up to one such count per giver at a time */
        assert_true(tycho_span_pool_held(pool) <= max + GIVERS);
        void *b = tycho_span_pool_take(pool);
        assert_non_null(b);
        taken[n++] = b;
    }
    for (int t = 0; t < GIVERS; t++)
        assert_int_equal(pthread_join(th[t], NULL), 0);
    assert_true(tycho_span_pool_held(pool) <= max);
    qsort(taken, n, sizeof *taken, cmp_ptr);
    for (size_t i = 1; i < n; i++)
        assert_true(taken[i] != taken[i - 1]); /* each block handed out once */
    for (size_t i = 0; i < n; i++)
        free(taken[i]);
    tycho_span_pool_free(pool);
}

/* The shutdown order: spans still in the rings when the hub is freed go back
 * to the pools, which are freed after them (no use after free, no leak). */
static void test_hub_frees_pools_last(void **state)
{
    (void)state;
    tycho_config_t cfg;
    tycho_config_defaults(&cfg);
    char err[256];
    tycho_hub_t *hub = tycho_hub_new(&cfg, 2, err, sizeof err);
    assert_non_null(hub);
    tycho_obs_t *obs = tycho_obs_new(hub, &cfg, 1);
    assert_non_null(obs);
    tycho_span_t *s = tycho_obs_span_new(obs, "queued", TYCHO_SPAN_KIND_INTERNAL);
    assert_non_null(s);
    assert_ptr_equal(s->pool, tycho_hub_span_pool(hub, 1));
    tycho_span_t *kept = tycho_obs_span_new(obs, "kept", TYCHO_SPAN_KIND_INTERNAL);
    tycho_span_free(kept);
    assert_int_equal(tycho_span_pool_held(tycho_hub_span_pool(hub, 1)), 1);
    tycho_obs_span_finish(obs, s); /* in worker 1's ring */
    tycho_obs_free(obs);
    tycho_hub_free(hub);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_reuse_is_clean),
        cmocka_unit_test(test_given_back_by_another_thread),
        cmocka_unit_test(test_bound),
        cmocka_unit_test(test_concurrent_givers),
        cmocka_unit_test(test_hub_frees_pools_last),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
