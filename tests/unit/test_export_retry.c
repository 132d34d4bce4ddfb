/* Unit tests of the exporters' retry rules (exporters/export_retry): the
 * per-protocol verdicts of PROTOCOLS.md sections 1-3, Retry-After in both
 * forms, and the jittered, capped exponential backoff. */
#include "exporters/export_retry.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#define D TYCHO_EXPORT_DONE
#define R TYCHO_EXPORT_RETRY
#define X TYCHO_EXPORT_REJECT

static void test_classify(void **state)
{
    (void)state;
    static const struct {
        long status;
        tycho_export_verdict_t otlp, prw, loki;
    } table[] = {
        {200, D, D, D}, {202, D, D, D}, {204, D, D, D}, {301, X, X, X}, {400, X, X, X},
        {401, X, X, X}, {403, X, X, X}, {404, X, X, X}, {408, X, X, X}, {413, X, X, X},
        {429, R, R, R}, {500, X, R, R}, {501, X, R, R}, {502, R, R, R}, {503, R, R, R},
        {504, R, R, R}, {599, X, R, R},
    };
    for (size_t i = 0; i < sizeof table / sizeof table[0]; i++) {
        long s = table[i].status;
        if (tycho_export_classify(TYCHO_EXPORT_PROTO_OTLP, 0, s) != table[i].otlp)
            fail_msg("OTLP %ld", s);
        if (tycho_export_classify(TYCHO_EXPORT_PROTO_PRW, 0, s) != table[i].prw)
            fail_msg("remote write %ld", s);
        if (tycho_export_classify(TYCHO_EXPORT_PROTO_LOKI, 0, s) != table[i].loki)
            fail_msg("Loki %ld", s);
    }
    /* no response at all (refused, reset, timeout): always retried */
    assert_int_equal(tycho_export_classify(TYCHO_EXPORT_PROTO_OTLP, 1, 0), R);
    assert_int_equal(tycho_export_classify(TYCHO_EXPORT_PROTO_PRW, 1, 0), R);
    assert_int_equal(tycho_export_classify(TYCHO_EXPORT_PROTO_LOKI, 1, 0), R);
}

static void test_retry_after(void **state)
{
    (void)state;
    uint64_t ms;
    int64_t now = 784111777; /* Sun, 06 Nov 1994 08:49:37 GMT */
    assert_int_equal(tycho_export_parse_retry_after("120", now, &ms), 0);
    assert_int_equal(ms, 120000);
    assert_int_equal(tycho_export_parse_retry_after(" 0 ", now, &ms), 0);
    assert_int_equal(ms, 0);
    assert_int_equal(tycho_export_parse_retry_after("Sun, 06 Nov 1994 08:49:47 GMT", now, &ms), 0);
    assert_int_equal(ms, 10000);
    assert_int_equal(tycho_export_parse_retry_after("Sunday, 06-Nov-94 08:50:37 GMT", now, &ms), 0);
    assert_int_equal(ms, 60000);
    assert_int_equal(tycho_export_parse_retry_after("Sun Nov  6 08:49:40 1994", now, &ms), 0);
    assert_int_equal(ms, 3000);
    assert_int_equal(tycho_export_parse_retry_after("Sat, 05 Nov 1994 08:49:37 GMT", now, &ms), 0);
    assert_int_equal(ms, 0); /* in the past: now */
    const char *bad[] = {"",
                         "soon",
                         "-5",
                         "1.5",
                         "Sun, 06 Nov 1994 08:49:37 UTC",
                         "Sun, 6 Nov 1994 08:49:37 GMT",
                         "Sun, 06 Foo 1994 08:49:37 GMT",
                         NULL};
    for (size_t i = 0; bad[i]; i++)
        if (tycho_export_parse_retry_after(bad[i], now, &ms) != -1) fail_msg("accepted %s", bad[i]);
    assert_int_equal(tycho_export_parse_retry_after(NULL, now, &ms), -1);
}

static void test_backoff(void **state)
{
    (void)state;
    tycho_export_retry_t r = {.backoff_min_ms = 500, .backoff_max_ms = 30000, .max_retries = 10};
    /* base doubles from 500 ms up to the cap; the delay is in [base/2, base] */
    uint64_t base[] = {500, 1000, 2000, 4000, 8000, 16000, 30000, 30000, 30000};
    for (unsigned n = 1; n <= 9; n++) {
        uint64_t lo = UINT64_MAX, hi = 0;
        for (uint64_t rnd = 0; rnd < 5000; rnd += 7) {
            uint64_t d = tycho_export_backoff_ms(&r, n, rnd * 2654435761u);
            lo = d < lo ? d : lo;
            hi = d > hi ? d : hi;
        }
        uint64_t b = base[n - 1];
        if (lo < b - b / 2 || hi > b)
            fail_msg("retry %u: [%llu, %llu] outside [%llu, %llu]", n, (unsigned long long)lo,
                     (unsigned long long)hi, (unsigned long long)(b - b / 2),
                     (unsigned long long)b);
        assert_true(hi - lo > b / 4); /* jittered, not constant */
    }
    /* huge retry counts stay capped (no overflow) */
    assert_true(tycho_export_backoff_ms(&r, 4000000000u, 12345) <= 30000);
    tycho_export_retry_t tiny = {.backoff_min_ms = 1, .backoff_max_ms = 1};
    assert_int_equal(tycho_export_backoff_ms(&tiny, 3, 99), 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_classify),
        cmocka_unit_test(test_retry_after),
        cmocka_unit_test(test_backoff),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
