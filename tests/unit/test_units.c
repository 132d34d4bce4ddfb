/* units: the switches, durations and sizes every setting shares. */
#include <setjmp.h>
#include <stdarg.h>
#include <limits.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "core/units.h"

static void test_bools(void **state)
{
    (void)state;
    const char *on[] = {"on", "ON", "true", "True", "yes", "YES", "1"};
    const char *off[] = {"off", "Off", "false", "FALSE", "no", "No", "0"};
    int v;
    for (size_t i = 0; i < sizeof on / sizeof on[0]; i++) {
        v = -1;
        assert_int_equal(tycho_parse_bool(on[i], &v), 0);
        assert_int_equal(v, 1);
        assert_int_equal(tycho_parse_bool(off[i], &v), 0);
        assert_int_equal(v, 0);
    }
    const char *bad[] = {"", "maybe", "2", "onn", " on", "y"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_int_equal(tycho_parse_bool(bad[i], &v), -1);
    assert_int_equal(tycho_parse_bool(NULL, &v), -1);
}

/* One form for every number a setting takes: decimal, a fraction allowed. */
static void test_decimal(void **state)
{
    (void)state;
    static const struct {
        const char *s;
        double v;
        const char *rest;
    } good[] = {{"16", 16, ""},     {"1.5", 1.5, ""}, {".5", 0.5, ""},
                {"2.", 2, ""},      {"007", 7, ""},   {"250ms", 250, "ms"},
                {"0x10", 0, "x10"}, {"1e3", 1, "e3"}, {"2.5s", 2.5, "s"}};
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
        double v = -1;
        const char *rest = tycho_parse_decimal(good[i].s, &v);
        if (!rest) fail_msg("%s refused", good[i].s);
        assert_true(v == good[i].v);
        assert_string_equal(rest, good[i].rest);
    }
    /* hex, exponents, signs, inf and nan are strtod's, not ours */
    const char *bad[] = {"",
                         ".",
                         "-1",
                         "+1",
                         " 1",
                         "inf",
                         "nan",
                         "infinity",
                         "e3",
                         "x",
                         "1111111111111111111111111111111111111111111111111111111111111111"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        double v;
        if (tycho_parse_decimal(bad[i], &v)) fail_msg("%s taken", bad[i]);
    }
    double v;
    assert_null(tycho_parse_decimal(NULL, &v));
}

static void test_count(void **state)
{
    (void)state;
    long n = -1;
    assert_int_equal(tycho_parse_count("3", 1, 50, &n), 0);
    assert_int_equal(n, 3);
    assert_int_equal(tycho_parse_count("50", 1, 50, &n), 0);
    assert_int_equal(n, 50);
    /* atoi took "5x" as 5 and "0x10" as 0 */
    const char *bad[] = {"", "0", "51", "5x", "0x10", "1e1", "2.5", "-3", " 3", "inf", "nan"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        if (tycho_parse_count(bad[i], 1, 50, &n) == 0) fail_msg("%s taken", bad[i]);
    assert_int_equal(n, 50);
}

/* Found by fuzz_units: the bounds were compared as doubles, so with hi =
 * LONG_MAX "9223372036854775807" (2^63 once read) passed and the cast to
 * long overflowed (UBSan), and a bound past 2^53 let its rounded neighbour
 * in. */
static void test_count_wide_bounds(void **state)
{
    (void)state;
    long n = -1;
    assert_int_equal(tycho_parse_count("9223372036854775807", 0, LONG_MAX, &n), -1);
    assert_int_equal(tycho_parse_count("9223372036854775808", LONG_MIN, LONG_MAX, &n), -1);
    assert_int_equal(n, -1);
    /* 2^62 + 1024 is a double; hi = 2^62 + 600 used to round up to it */
    assert_int_equal(tycho_parse_count("4611686018427388928", 0, 4611686018427388504L, &n), -1);
    assert_int_equal(tycho_parse_count("4611686018427387904", 0, 4611686018427388504L, &n), 0);
    assert_int_equal(n, 4611686018427387904L);
    assert_int_equal(tycho_parse_count("9223372036854774784", 0, LONG_MAX, &n), 0);
    assert_int_equal(n, 9223372036854774784L);
}

static void test_durations_and_sizes(void **state)
{
    (void)state;
    uint64_t ms;
    assert_int_equal(tycho_parse_duration_ms("15", 1000, &ms), 0);
    assert_int_equal(ms, 15000);
    assert_int_equal(tycho_parse_duration_ms("0.25", 1000, &ms), 0);
    assert_int_equal(ms, 250);
    assert_int_equal(tycho_parse_duration_ms("5000", 1, &ms), 0);
    assert_int_equal(ms, 5000);
    assert_int_equal(tycho_parse_duration_ms("500ms", 1000, &ms), 0);
    assert_int_equal(ms, 500);
    assert_int_equal(tycho_parse_duration_ms("2m", 1, &ms), 0);
    assert_int_equal(ms, 120000);
    assert_int_equal(tycho_parse_duration_ms("1h", 1, &ms), 0);
    assert_int_equal(ms, 3600000);
    const char *bad[] = {"",     "-1",  "abc",  "5x",    "1e400", "nan", "s",
                         "0x10", "1e3", "1e3s", "0x1p4", "inf",   "+5",  "0x10ms"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_int_equal(tycho_parse_duration_ms(bad[i], 1, &ms), -1);

    size_t sz;
    assert_int_equal(tycho_parse_size("65536", &sz), 0);
    assert_int_equal(sz, 65536);
    assert_int_equal(tycho_parse_size("64MiB", &sz), 0);
    assert_int_equal(sz, 64u << 20);
    assert_int_equal(tycho_parse_size("2K", &sz), 0);
    assert_int_equal(sz, 2048);
    assert_int_equal(tycho_parse_size("1g", &sz), 0);
    assert_int_equal(sz, 1u << 30);
    assert_int_equal(tycho_parse_size("10MB", &sz), 0);
    assert_int_equal(sz, 10u << 20);
    assert_int_equal(tycho_parse_size("12X", &sz), -1);
    assert_int_equal(tycho_parse_size("-1", &sz), -1);
    assert_int_equal(tycho_parse_size("99999999999999999999", &sz), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bools),
        cmocka_unit_test(test_decimal),
        cmocka_unit_test(test_count),
        cmocka_unit_test(test_count_wide_bounds),
        cmocka_unit_test(test_durations_and_sizes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
