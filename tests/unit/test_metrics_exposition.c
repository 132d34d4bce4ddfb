/* Prometheus text exposition 0.0.4: golden output, escaping, numbers. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "telemetry/metrics.h"
#include "telemetry/prometheus_text.h"

#include <math.h>
#include <string.h>

static void check_double(double v, const char *want)
{
    char out[TYCHO_BUF_NUMBER_MAX];
    size_t n = tycho_prom_format_double(v, out);
    assert_string_equal(out, want);
    assert_int_equal(n, strlen(want));
}

static void test_format_double(void **state)
{
    (void)state;
    check_double(0, "0");
    check_double(1, "1");
    check_double(-3, "-3");
    check_double(42, "42");
    check_double(123456789012345, "123456789012345");
    check_double(1e15, "1000000000000000");
    check_double(9007199254740992.0, "9007199254740992");
    check_double(1e22, "1e+22");
    check_double(-0.0, "-0");
    check_double(0.1, "0.1");
    check_double(0.005, "0.005");
    check_double(2.5, "2.5");
    check_double(1.0 / 3, "0.3333333333333333");
    check_double(0.1 + 0.2, "0.30000000000000004");
    check_double(1e-7, "1e-07");
    check_double(INFINITY, "+Inf");
    check_double(-INFINITY, "-Inf");
    check_double(NAN, "NaN");
    check_double(1.7976931348623157e308, "1.7976931348623157e+308");
}

static void test_escaping(void **state)
{
    (void)state;
    tycho_buf_t b = TYCHO_BUF_INIT;
    const char in[] = "a\\b\"c\nd\xff"
                      "e\xc3\xa9";
    tycho_prom_append_escaped(&b, in, strlen(in), 0);
    assert_string_equal(b.data, "a\\\\b\\\"c\\nd\xef\xbf\xbd"
                                "e\xc3\xa9");
    tycho_buf_reset(&b);
    tycho_prom_append_escaped(&b, in, strlen(in), 1); /* HELP: quotes stay */
    assert_string_equal(b.data, "a\\\\b\"c\\nd\xef\xbf\xbd"
                                "e\xc3\xa9");
    tycho_buf_free(&b);
}

static const char golden[] =
    "# HELP app_requests_total Requests served, by \"route\" and code.\\nSecond line \\\\ end.\n"
    "# TYPE app_requests_total counter\n"
    "app_requests_total{route=\"/users/:id\",code=\"200\"} 7\n"
    "app_requests_total{route=\"/q\\\"uote\\\\back\\nline\",code=\"500\"} 0.5\n"
    "# HELP app_temperature_celsius app_temperature_celsius\n"
    "# TYPE app_temperature_celsius gauge\n"
    "app_temperature_celsius -12.25\n"
    "# HELP app_latency_seconds Latency.\n"
    "# TYPE app_latency_seconds histogram\n"
    "app_latency_seconds_bucket{route=\"/a\",le=\"0.005\"} 1\n"
    "app_latency_seconds_bucket{route=\"/a\",le=\"0.5\"} 2\n"
    "app_latency_seconds_bucket{route=\"/a\",le=\"1\"} 2\n"
    "app_latency_seconds_bucket{route=\"/a\",le=\"+Inf\"} 3\n"
    "app_latency_seconds_sum{route=\"/a\"} 3.251\n"
    "app_latency_seconds_count{route=\"/a\"} 3\n"
    "# HELP never_used_total never_used_total\n"
    "# TYPE never_used_total counter\n";

static void test_golden(void **state)
{
    (void)state;
    tycho_metrics_t *r = tycho_metrics_new(2, 0);
    tycho_metric_t *c, *g, *h, *empty;
    const char *cl[] = {"route", "code"};
    tycho_metric_opts_t o = {.name = "app_requests_total",
                             .help = "Requests served, by \"route\" and code.\nSecond line \\ end.",
                             .type = TYCHO_METRIC_COUNTER,
                             .label_names = cl,
                             .nlabels = 2};
    assert_int_equal(tycho_metrics_register(r, &o, &c, NULL, 0), 0);
    o = (tycho_metric_opts_t){.name = "app_temperature_celsius", .type = TYCHO_METRIC_GAUGE};
    assert_int_equal(tycho_metrics_register(r, &o, &g, NULL, 0), 0);
    o = (tycho_metric_opts_t){.name = "app_latency_seconds",
                              .help = "Latency.",
                              .type = TYCHO_METRIC_HISTOGRAM,
                              .label_names = (const char *[]){"route"},
                              .nlabels = 1,
                              .buckets = (double[]){0.005, 0.5, 1},
                              .nbuckets = 3};
    assert_int_equal(tycho_metrics_register(r, &o, &h, NULL, 0), 0);
    o = (tycho_metric_opts_t){
        .name = "never_used_total", .type = TYCHO_METRIC_COUNTER, .label_names = cl, .nlabels = 2};
    assert_int_equal(tycho_metrics_register(r, &o, &empty, NULL, 0), 0);

    tycho_metric_inc(c, 0, (const char *[]){"/users/:id", "200"}, 3);
    tycho_metric_inc(c, 1, (const char *[]){"/users/:id", "200"}, 4);
    tycho_metric_inc(c, 1, (const char *[]){"/q\"uote\\back\nline", "500"}, 0.5);
    tycho_metric_set(g, 1, NULL, -12.25);
    tycho_metric_observe(h, 0, (const char *[]){"/a"}, 0.001);
    tycho_metric_observe(h, 1, (const char *[]){"/a"}, 0.25);
    tycho_metric_observe(h, 1, (const char *[]){"/a"}, 3);

    tycho_metrics_snapshot_t *s = tycho_metrics_snapshot(r);
    tycho_buf_t b = TYCHO_BUF_INIT;
    assert_int_equal(tycho_prom_render(s, &b), 0);
    /* A family without series is named by its HELP and TYPE lines alone:
     * the registry's overflow counter (registered first) and never_used_total. */
    static const char overflow_type[] = "# TYPE tycho_metrics_overflow_total counter\n";
    const char *after = strstr(b.data, overflow_type);
    assert_non_null(after);
    assert_int_equal(strncmp(b.data, "# HELP tycho_metrics_overflow_total ", 36), 0);
    assert_string_equal(after + strlen(overflow_type), golden);
    tycho_buf_free(&b);
    tycho_metrics_snapshot_free(s);
    tycho_metrics_free(r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_format_double),
        cmocka_unit_test(test_escaping),
        cmocka_unit_test(test_golden),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
