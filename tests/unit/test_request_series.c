/* Unit tests of the per-worker cache of the built-in request metrics' series
 * (server/core/request_series.c): a hit hands back the series a keyed lookup
 * would, entries match on the route's text (a different pointer to the same
 * text, or the same buffer rewritten, resolve correctly), methods are cut at
 * 15 bytes as before, and label sets folded into the overflow series are not
 * cached, so every folded update is still counted. */
#include "core/request_series.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

static tycho_metrics_t *reg;
static tycho_hub_families_t fam;

static void families(size_t max_series)
{
    static const char *const mrs[] = {"method", "route", "status"}, *const mr[] = {"method",
                                                                                   "route"};
    reg = tycho_metrics_new(2, 0);
    assert_non_null(reg);
    tycho_metric_opts_t o = {.name = "req_total",
                             .type = TYCHO_METRIC_COUNTER,
                             .label_names = mrs,
                             .nlabels = 3,
                             .max_series = max_series};
    assert_int_equal(tycho_metrics_register(reg, &o, &fam.requests, NULL, 0), 0);
    o = (tycho_metric_opts_t){
        .name = "dur", .type = TYCHO_METRIC_HISTOGRAM, .label_names = mr, .nlabels = 2};
    assert_int_equal(tycho_metrics_register(reg, &o, &fam.duration, NULL, 0), 0);
    o.name = "in_size";
    assert_int_equal(tycho_metrics_register(reg, &o, &fam.request_size, NULL, 0), 0);
    o.name = "out_size";
    assert_int_equal(tycho_metrics_register(reg, &o, &fam.response_size, NULL, 0), 0);
}

static tycho_series_t *keyed(const char *method, const char *route, const char *status)
{
    return tycho_metric_series(fam.requests, 1, (const char *[]){method, route, status}, NULL);
}

static void test_hits_match_keyed_lookups(void **state)
{
    (void)state;
    families(0);
    static tycho_request_series_cache_t c;
    tycho_request_series_init(&c, &fam, 1);
    tycho_request_series_t a, b;
    tycho_request_series_get(&c, "GET /x", 3, "/users/:id", 200, &a);
    assert_ptr_equal(a.requests, keyed("GET", "/users/:id", "200"));
    assert_ptr_equal(a.duration, tycho_metric_series(fam.duration, 1,
                                                     (const char *[]){"GET", "/users/:id"}, NULL));
    tycho_request_series_get(&c, "GET", 3, "/users/:id", 200, &b);
    assert_memory_equal(&a, &b, sizeof a);
    /* the same text at another address: the same series */
    char route[] = "/users/:id";
    tycho_request_series_get(&c, "GET", 3, route, 200, &b);
    assert_ptr_equal(b.requests, a.requests);
    /* the same address with new text (a route freed by a reload, reused) */
    snprintf(route, sizeof route, "/orders");
    tycho_request_series_get(&c, "GET", 3, route, 200, &b);
    assert_ptr_equal(b.requests, keyed("GET", "/orders", "200"));
    tycho_request_series_get(&c, "GET", 3, "/users/:id", 404, &b);
    assert_ptr_equal(b.requests, keyed("GET", "/users/:id", "404"));
    tycho_request_series_get(&c, "POST", 4, "/users/:id", 200, &b);
    assert_ptr_equal(b.requests, keyed("POST", "/users/:id", "200"));
    /* an engine error: no method, no route */
    tycho_request_series_get(&c, NULL, 0, NULL, 400, &b);
    assert_ptr_equal(b.requests, keyed("", "", "400"));
    tycho_request_series_get(&c, "ABCDEFGHIJKLMNOPQRST", 20, "/", 599, &b);
    assert_ptr_equal(b.requests, keyed("ABCDEFGHIJKLMNO", "/", "599"));
    tycho_metrics_free(reg);
}

static double overflow_count(void)
{
    tycho_metrics_snapshot_t *s = tycho_metrics_snapshot(reg);
    const tycho_snapshot_family_t *f =
        tycho_metrics_snapshot_find(s, TYCHO_METRICS_OVERFLOW_METRIC);
    double v = 0;
    for (size_t i = 0; f && i < f->nseries; i++)
        if (strcmp(f->series[i].label_values[0], "req_total") == 0) v = f->series[i].value;
    tycho_metrics_snapshot_free(s);
    return v;
}

static void test_overflow_not_cached(void **state)
{
    (void)state;
    families(1);
    static tycho_request_series_cache_t c;
    tycho_request_series_init(&c, &fam, 0);
    tycho_request_series_t a;
    tycho_request_series_get(&c, "GET", 3, "/a", 200, &a);
    assert_false(tycho_series_is_overflow(a.requests));
    for (int i = 0; i < 3; i++) {
        tycho_request_series_get(&c, "GET", 3, "/a", 500, &a);
        assert_true(tycho_series_is_overflow(a.requests));
    }
    assert_true(overflow_count() == 3); /* as three keyed updates would count */
    tycho_metrics_free(reg);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hits_match_keyed_lookups),
        cmocka_unit_test(test_overflow_not_cached),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
