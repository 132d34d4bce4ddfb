/* metrics: a scrape sees each histogram series whole. An observer thread
 * hammers one series on its shard while this thread snapshots the registry
 * thousands of times; every snapshot's buckets, _count and _sum must be
 * those of one same number of observations (the +Inf bucket equal to the
 * count, the sum of exactly the observations counted). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "telemetry/metrics.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <time.h>

/* At least SCRAPES scrapes, MOVED of which saw new observations (on a
 * loaded machine the observer may sit out many scrapes in a row), within
 * DEADLINE seconds. */
#define SCRAPES 20000
#define MOVED 2000
#define DEADLINE 60
#define NBOUNDS 3

/* The observer cycles through these: one a bucket, 8 a cycle (exact in a
 * double, as every partial sum below 2^53 is), so that the count alone
 * tells what the buckets and the sum must be. */
static const double cycle[NBOUNDS + 1] = {0.5, 1.5, 2.5, 3.5};
static const double bounds[NBOUNDS] = {1, 2, 3};

struct observer {
    tycho_metric_t *h;
    atomic_int stop;
    atomic_ulong done; /* observations made, for the start and the end */
};

static void *observe_loop(void *p)
{
    struct observer *o = p;
    tycho_series_t *s = tycho_metric_series(o->h, 0, (const char *[]){"hammered"}, NULL);
    if (!s) return (void *)1;
    unsigned long i = 0;
    while (!atomic_load_explicit(&o->stop, memory_order_relaxed)) {
        if (tycho_series_observe(s, cycle[i & NBOUNDS]) != 0) return (void *)1;
        i++;
        /* every 64: for the scraper's "did it move" check only */
        if ((i & 63) == 0) atomic_store_explicit(&o->done, i, memory_order_relaxed);
    }
    atomic_store(&o->done, i);
    return NULL;
}

/* What a series of n observations of the cycle holds. */
static void expected(uint64_t n, uint64_t cum[NBOUNDS + 1], double *sum)
{
    uint64_t full = n / (NBOUNDS + 1), part = n % (NBOUNDS + 1);
    double s = (double)full * (0.5 + 1.5 + 2.5 + 3.5);
    for (size_t b = 0; b <= NBOUNDS; b++) {
        uint64_t in_b = full + (b < part ? 1 : 0); /* observations of cycle[b] */
        cum[b] = in_b + (b ? cum[b - 1] : 0);
        if (b < part) s += cycle[b];
    }
    *sum = s;
}

static void test_histogram_whole_in_each_scrape(void **state)
{
    (void)state;
    tycho_metrics_t *r = tycho_metrics_new(2, 0);
    assert_non_null(r);
    const char *names[] = {"series"};
    tycho_metric_opts_t opts = {.name = "hammered_seconds",
                                .type = TYCHO_METRIC_HISTOGRAM,
                                .label_names = names,
                                .nlabels = 1,
                                .buckets = bounds,
                                .nbuckets = NBOUNDS};
    struct observer o = {0};
    assert_int_equal(tycho_metrics_register(r, &opts, &o.h, NULL, 0), 0);
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, observe_loop, &o), 0);
    while (atomic_load(&o.done) == 0)
        ; /* the observer is at work */

    int torn = 0, moved = 0, k;
    uint64_t last = 0;
    time_t end = time(NULL) + DEADLINE;
    for (k = 0; k < SCRAPES || (moved < MOVED && time(NULL) < end); k++) {
        tycho_metrics_snapshot_t *snap = tycho_metrics_snapshot(r);
        assert_non_null(snap);
        const tycho_snapshot_family_t *f = tycho_metrics_snapshot_find(snap, "hammered_seconds");
        assert_non_null(f);
        assert_int_equal(f->nseries, 1);
        const tycho_snapshot_series_t *s = &f->series[0];
        uint64_t cum[NBOUNDS + 1];
        double sum;
        expected(s->count, cum, &sum);
        int whole = s->buckets[NBOUNDS] == s->count && s->sum == sum;
        for (size_t b = 0; b < NBOUNDS; b++)
            whole = whole && s->buckets[b] == cum[b];
        if (!whole) {
            if (torn++ < 3)
                print_message(
                    "scrape %d: count %llu, +Inf %llu, le=1 %llu (want %llu), sum %.1f "
                    "(want %.1f)\n",
                    k, (unsigned long long)s->count, (unsigned long long)s->buckets[NBOUNDS],
                    (unsigned long long)s->buckets[0], (unsigned long long)cum[0], s->sum, sum);
        }
        if (s->count < last)
            fail_msg("count went back: %llu after %llu", (unsigned long long)s->count,
                     (unsigned long long)last);
        moved += s->count != last;
        last = s->count;
        tycho_metrics_snapshot_free(snap);
    }
    atomic_store(&o.stop, 1);
    void *ret;
    assert_int_equal(pthread_join(th, &ret), 0);
    assert_null(ret);
    print_message("%d scrapes, %d saw new observations, %d torn; %lu observations\n", k, moved,
                  torn, (unsigned long)atomic_load(&o.done));
    /* the scrapes ran while the observer worked, not before or after it */
    assert_true(moved >= MOVED);
    assert_int_equal(torn, 0);

    /* and the final state is the observer's own count */
    tycho_metrics_snapshot_t *snap = tycho_metrics_snapshot(r);
    const tycho_snapshot_series_t *s =
        &tycho_metrics_snapshot_find(snap, "hammered_seconds")->series[0];
    assert_int_equal(s->count, atomic_load(&o.done));
    tycho_metrics_snapshot_free(snap);
    tycho_metrics_free(r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_histogram_whole_in_each_scrape),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
