/* SPSC ring: full, empty, wraparound, and two threads under load. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "telemetry/dropcount.h"
#include "telemetry/metrics.h"
#include "telemetry/ring.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>

#define P(i) ((void *)(uintptr_t)(i))

static void test_full_empty_wrap(void **state)
{
    (void)state;
    assert_null(tycho_ring_new(0));
    tycho_ring_t *r = tycho_ring_new(3); /* rounded up to 4 */
    assert_non_null(r);
    assert_int_equal(tycho_ring_capacity(r), 4);
    assert_null(tycho_ring_pop(r));
    assert_int_equal(tycho_ring_depth(r), 0);
    uintptr_t next_in = 1, next_out = 1;
    /* Many laps around the ring with different fill levels. */
    for (int lap = 0; lap < 1000; lap++) {
        int fill = 1 + lap % 4;
        for (int i = 0; i < fill; i++)
            assert_int_equal(tycho_ring_try_push(r, P(next_in++)), 0);
        if (fill == 4) {
            assert_int_equal(tycho_ring_try_push(r, P(999)), -EAGAIN);
            assert_int_equal(tycho_ring_depth(r), 4);
        }
        for (int i = 0; i < fill; i++)
            assert_ptr_equal(tycho_ring_pop(r), P(next_out++));
        assert_null(tycho_ring_pop(r));
    }
    /* Full, pop one, push one: space is reused immediately. */
    for (int i = 0; i < 4; i++)
        tycho_ring_try_push(r, P(next_in++));
    assert_ptr_equal(tycho_ring_pop(r), P(next_out++));
    assert_int_equal(tycho_ring_try_push(r, P(next_in++)), 0);
    assert_int_equal(tycho_ring_try_push(r, P(next_in)), -EAGAIN);
    while (tycho_ring_pop(r))
        next_out++;
    assert_int_equal(next_out, next_in);
    tycho_ring_free(r);
}

#define TOTAL 2000000

struct shared {
    tycho_ring_t *r;
    atomic_int done;
    uint64_t dropped;
};

static void *producer(void *p)
{
    struct shared *s = p;
    for (uintptr_t i = 1; i <= TOTAL; i++) {
        /* Retry a few times, then drop and count, as a worker would. */
        int tries = 0;
        while (tycho_ring_try_push(s->r, P(i)) == -EAGAIN) {
            if (++tries == 3) {
                s->dropped++;
                break;
            }
        }
    }
    atomic_store(&s->done, 1);
    return NULL;
}

static void test_two_threads(void **state)
{
    (void)state;
    struct shared s = {.r = tycho_ring_new(64)};
    atomic_init(&s.done, 0);
    pthread_t t;
    pthread_create(&t, NULL, producer, &s);
    uintptr_t last = 0;
    uint64_t got = 0;
    for (;;) {
        void *p = tycho_ring_pop(s.r);
        if (!p) {
            if (atomic_load(&s.done) && tycho_ring_depth(s.r) == 0 && !(p = tycho_ring_pop(s.r)))
                break;
            if (!p) continue;
        }
        uintptr_t v = (uintptr_t)p;
        /* FIFO: strictly increasing (drops leave gaps, never reorder). */
        if (v <= last)
            fail_msg("out of order: %lu after %lu", (unsigned long)v, (unsigned long)last);
        last = v;
        got++;
    }
    pthread_join(t, NULL);
    assert_int_equal(got + s.dropped, TOTAL);
    tycho_ring_free(s.r);
}

static double depth_cb(void *ud)
{
    return (double)tycho_ring_depth(ud);
}

static void test_dropcount_metrics(void **state)
{
    (void)state;
    tycho_metrics_t *reg = tycho_metrics_new(3, 0);
    char err[200];
    tycho_dropcount_t *d = tycho_dropcount_register(reg, err, sizeof err);
    assert_non_null(d);
    tycho_ring_t *r = tycho_ring_new(8);
    tycho_ring_try_push(r, P(1));
    tycho_ring_try_push(r, P(2));
    assert_int_equal(tycho_dropcount_set_depth_source(d, TYCHO_SIGNAL_SPANS, depth_cb, r), 0);
    tycho_dropcount_add(d, 0, TYCHO_SIGNAL_SPANS, TYCHO_DROP_QUEUE_FULL, 2);
    tycho_dropcount_add(d, 2, TYCHO_SIGNAL_SPANS, TYCHO_DROP_QUEUE_FULL, 3);
    tycho_dropcount_add(d, 1, TYCHO_SIGNAL_LOGS, TYCHO_DROP_TOO_LARGE, 1);
    tycho_dropcount_add(d, 9, TYCHO_SIGNAL_LOGS, TYCHO_DROP_TOO_LARGE, 1); /* bad shard: ignored */
    assert_string_equal(tycho_signal_name(TYCHO_SIGNAL_METRICS), "metrics");
    assert_string_equal(tycho_drop_reason_name(TYCHO_DROP_EXPORT_FAILED), "export_failed");
    /* the exporters' registration finds the very same families */
    tycho_metric_t *dropped = NULL, *depth = NULL;
    assert_int_equal(tycho_dropcount_families(reg, &dropped, &depth, err, sizeof err), 0);
    assert_ptr_equal(dropped, tycho_metrics_find(reg, "tycho_telemetry_dropped_total"));
    assert_ptr_equal(depth, tycho_metrics_find(reg, "tycho_telemetry_queue_depth"));

    tycho_metrics_snapshot_t *s = tycho_metrics_snapshot(reg);
    const tycho_snapshot_family_t *f =
        tycho_metrics_snapshot_find(s, "tycho_telemetry_dropped_total");
    assert_non_null(f);
    assert_int_equal(f->nseries, TYCHO_SIGNAL_COUNT_ * TYCHO_DROP_COUNT_); /* all, from the start */
    assert_string_equal(f->help, "Telemetry items (spans, log lines, metric samples) dropped, by "
                                 "signal and reason.");
    for (size_t i = 0; i < f->nseries; i++) {
        const char *sig = f->series[i].label_values[0], *why = f->series[i].label_values[1];
        double want = 0;
        if (!strcmp(sig, "spans") && !strcmp(why, "queue_full")) want = 5;
        if (!strcmp(sig, "logs") && !strcmp(why, "too_large")) want = 1;
        assert_true(f->series[i].value == want);
    }
    f = tycho_metrics_snapshot_find(s, "tycho_telemetry_queue_depth");
    assert_int_equal(f->nseries, 1);
    assert_string_equal(f->series[0].label_values[0], "spans");
    assert_true(f->series[0].value == 2);
    tycho_metrics_snapshot_free(s);
    tycho_ring_free(r);
    tycho_dropcount_free(d);
    tycho_metrics_free(reg);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_full_empty_wrap),
        cmocka_unit_test(test_two_threads),
        cmocka_unit_test(test_dropcount_metrics),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
