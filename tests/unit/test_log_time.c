/* Unit tests of the log timestamp (tycho_log_format_time, server/core/log.c):
 * RFC 3339 UTC with nanoseconds, the same whether the second was formatted
 * by an earlier call on the thread or not, and dates the cache cannot hold. */
#include "core/log.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

static void check(int64_t ns, const char *want)
{
    char out[31];
    tycho_log_format_time(out, ns);
    assert_string_equal(out, want);
}

static void test_known_times(void **state)
{
    (void)state;
    check(0, "1970-01-01T00:00:00.000000000Z");
    check(1795638637515250485LL, "2026-11-25T20:30:37.515250485Z");
    check(1795638637000000001LL, "2026-11-25T20:30:37.000000001Z"); /* same second again */
    check(1795638638999999999LL, "2026-11-25T20:30:38.999999999Z"); /* the next one */
    check(1795638637515250485LL, "2026-11-25T20:30:37.515250485Z"); /* and back */
    check(951782400123000000LL, "2000-02-29T00:00:00.123000000Z");
    check(9223372036854775807LL, "2262-04-11T23:47:16.854775807Z"); /* int64's last */
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_known_times)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
