/* OTEL_TRACES_SAMPLER / _ARG and the sampling decisions. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "telemetry/sampler.h"
#include "telemetry/trace_context.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

static void test_configure(void **state)
{
    (void)state;
    tycho_sampler_t s;
    char msg[200];
    assert_int_equal(tycho_sampler_configure(&s, NULL, NULL, msg, sizeof msg), 0);
    assert_int_equal(s.kind, TYCHO_SAMPLER_PARENTBASED_ALWAYS_ON);
    assert_string_equal(tycho_sampler_name(&s), "parentbased_always_on");
    assert_int_equal(tycho_sampler_configure(&s, "traceidratio", "0.25", msg, sizeof msg), 0);
    assert_int_equal(s.kind, TYCHO_SAMPLER_TRACEIDRATIO);
    assert_true(s.ratio == 0.25);
    assert_int_equal(tycho_sampler_configure(&s, "parentbased_traceidratio", NULL, msg, sizeof msg),
                     0);
    assert_true(s.ratio == 1.0);
    /* An invalid argument is reported and ignored (ratio 1.0). */
    assert_int_equal(tycho_sampler_configure(&s, "traceidratio", "1.5", msg, sizeof msg), 1);
    assert_non_null(strstr(msg, "OTEL_TRACES_SAMPLER_ARG"));
    assert_true(s.ratio == 1.0);
    assert_int_equal(tycho_sampler_configure(&s, "traceidratio", "abc", msg, sizeof msg), 1);
    assert_int_equal(tycho_sampler_configure(&s, "traceidratio", "-0.1", msg, sizeof msg), 1);
    /* decimal only: strtod read 0x0.8 as 0.5 and 5e-1 as 0.5 */
    assert_int_equal(tycho_sampler_configure(&s, "traceidratio", "0x0.8", msg, sizeof msg), 1);
    assert_non_null(strstr(msg, "a decimal number"));
    assert_int_equal(tycho_sampler_configure(&s, "traceidratio", "5e-1", msg, sizeof msg), 1);
    assert_int_equal(tycho_sampler_configure(&s, "traceidratio", "nan", msg, sizeof msg), 1);
    assert_true(s.ratio == 1.0);
    assert_int_equal(tycho_sampler_configure(&s, "traceidratio", ".5 ", msg, sizeof msg), 0);
    assert_true(s.ratio == 0.5);
    /* The argument means nothing to the other samplers. */
    assert_int_equal(tycho_sampler_configure(&s, "always_on", "junk", msg, sizeof msg), 0);
    /* Names in any case, as the OTel spec asks of enum values. */
    assert_int_equal(tycho_sampler_configure(&s, "ALWAYS_ON", NULL, msg, sizeof msg), 0);
    assert_int_equal(s.kind, TYCHO_SAMPLER_ALWAYS_ON);
    assert_int_equal(
        tycho_sampler_configure(&s, "ParentBased_TraceIdRatio", "0.5", msg, sizeof msg), 0);
    assert_int_equal(s.kind, TYCHO_SAMPLER_PARENTBASED_TRACEIDRATIO);
    assert_int_equal(tycho_sampler_configure(&s, "sometimes", NULL, msg, sizeof msg), -EINVAL);
    assert_non_null(strstr(msg, "unknown sampler: sometimes"));
    /* the error names the samplers there are, as the docs list them */
    assert_non_null(strstr(msg, " (one of always_on, always_off, traceidratio, "
                                "parentbased_always_on, parentbased_always_off, "
                                "parentbased_traceidratio)"));
    assert_int_equal(tycho_sampler_configure(&s, "xray", NULL, msg, sizeof msg), -ENOTSUP);
    assert_non_null(strstr(msg, "xray is not supported by tycho (one of always_on, "));
    assert_int_equal(tycho_sampler_configure(&s, "jaeger_remote", NULL, msg, sizeof msg), -ENOTSUP);

    setenv("OTEL_TRACES_SAMPLER", "parentbased_always_off", 1);
    unsetenv("OTEL_TRACES_SAMPLER_ARG");
    assert_int_equal(tycho_sampler_from_env(&s, msg, sizeof msg), 0);
    assert_int_equal(s.kind, TYCHO_SAMPLER_PARENTBASED_ALWAYS_OFF);
    setenv("OTEL_TRACES_SAMPLER", "traceidratio", 1);
    setenv("OTEL_TRACES_SAMPLER_ARG", "0.5", 1);
    assert_int_equal(tycho_sampler_from_env(&s, msg, sizeof msg), 0);
    assert_true(s.ratio == 0.5);
    unsetenv("OTEL_TRACES_SAMPLER");
    unsetenv("OTEL_TRACES_SAMPLER_ARG");
}

static void test_parent_based(void **state)
{
    (void)state;
    tycho_sampler_t on, off, ratio0, ratio1, plain_on, plain_off;
    tycho_sampler_configure(&on, "parentbased_always_on", NULL, NULL, 0);
    tycho_sampler_configure(&off, "parentbased_always_off", NULL, NULL, 0);
    tycho_sampler_configure(&ratio0, "parentbased_traceidratio", "0", NULL, 0);
    tycho_sampler_configure(&ratio1, "parentbased_traceidratio", "1", NULL, 0);
    tycho_sampler_configure(&plain_on, "always_on", NULL, NULL, 0);
    tycho_sampler_configure(&plain_off, "always_off", NULL, NULL, 0);
    uint8_t tid[16];
    tycho_trace_new_trace_id(tid);

    /* A parent's decision wins in every parent-based sampler. */
    tycho_sampler_t *pb[] = {&on, &off, &ratio0, &ratio1};
    for (int i = 0; i < 4; i++) {
        assert_int_equal(tycho_sampler_should_sample(pb[i], tid, TYCHO_PARENT_SAMPLED), 1);
        assert_int_equal(tycho_sampler_should_sample(pb[i], tid, TYCHO_PARENT_NOT_SAMPLED), 0);
    }
    /* Roots (and undecided parents) go to the root sampler. */
    assert_int_equal(tycho_sampler_should_sample(&on, tid, TYCHO_PARENT_NONE), 1);
    assert_int_equal(tycho_sampler_should_sample(&on, tid, TYCHO_PARENT_UNDECIDED), 1);
    assert_int_equal(tycho_sampler_should_sample(&off, tid, TYCHO_PARENT_NONE), 0);
    assert_int_equal(tycho_sampler_should_sample(&off, tid, TYCHO_PARENT_UNDECIDED), 0);
    assert_int_equal(tycho_sampler_should_sample(&ratio0, tid, TYCHO_PARENT_NONE), 0);
    assert_int_equal(tycho_sampler_should_sample(&ratio1, tid, TYCHO_PARENT_NONE), 1);
    /* Non parent-based samplers ignore the parent. */
    assert_int_equal(tycho_sampler_should_sample(&plain_on, tid, TYCHO_PARENT_NOT_SAMPLED), 1);
    assert_int_equal(tycho_sampler_should_sample(&plain_off, tid, TYCHO_PARENT_SAMPLED), 0);
}

static void test_ratio_statistics(void **state)
{
    (void)state;
    tycho_sampler_t s10, s50, s1, ratio_pb;
    tycho_sampler_configure(&s10, "traceidratio", "0.1", NULL, 0);
    tycho_sampler_configure(&s50, "traceidratio", "0.5", NULL, 0);
    tycho_sampler_configure(&s1, "traceidratio", "0.01", NULL, 0);
    tycho_sampler_configure(&ratio_pb, "parentbased_traceidratio", "0.1", NULL, 0);
    enum { N = 100000 };
    int n10 = 0, n50 = 0, n1 = 0;
    for (int i = 0; i < N; i++) {
        uint8_t tid[16];
        tycho_trace_new_trace_id(tid);
        int a = tycho_sampler_should_sample(&s10, tid, TYCHO_PARENT_NONE);
        int b = tycho_sampler_should_sample(&s50, tid, TYCHO_PARENT_NONE);
        int c = tycho_sampler_should_sample(&s1, tid, TYCHO_PARENT_NONE);
        /* Deterministic in the trace id, and consistent across ratios. */
        assert_int_equal(a, tycho_sampler_should_sample(&s10, tid, TYCHO_PARENT_SAMPLED));
        assert_int_equal(a, tycho_sampler_should_sample(&ratio_pb, tid, TYCHO_PARENT_NONE));
        if (a) assert_true(b);
        if (c) assert_true(a);
        n10 += a, n50 += b, n1 += c;
    }
    /* Binomial: sd(10%) = 95, sd(50%) = 158, sd(1%) = 31; allow ~5 sd. */
    assert_in_range(n10, 10000 - 500, 10000 + 500);
    assert_in_range(n50, 50000 - 800, 50000 + 800);
    assert_in_range(n1, 1000 - 160, 1000 + 160);

    /* The decision reads the low 56 bits only (the X-Ray epoch prefix and
     * byte 8 do not matter). */
    uint8_t t[16] = {0};
    memset(t + 9, 0xff, 7);
    assert_int_equal(tycho_sampler_ratio_decide(tycho_sampler_ratio_threshold(0.0001), t), 1);
    memset(t + 9, 0, 7);
    memset(t, 0xff, 9);
    assert_int_equal(tycho_sampler_ratio_decide(tycho_sampler_ratio_threshold(0.9999), t), 0);
    assert_int_equal(tycho_sampler_ratio_decide(tycho_sampler_ratio_threshold(1), t), 1);
    assert_int_equal(tycho_sampler_ratio_threshold(0), 1ull << 56);
    assert_int_equal(tycho_sampler_ratio_threshold(0.5), 1ull << 55);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_configure),
        cmocka_unit_test(test_parent_based),
        cmocka_unit_test(test_ratio_statistics),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
