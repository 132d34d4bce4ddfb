/* Unit tests of server/core/env_names.c: a misspelt TYCHO_* variable is
 * told from one tycho reads and from a variable of the app's own. */
#include "core/env_names.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

static void test_known(void **state)
{
    (void)state;
    assert_true(tycho_env_name_known("TYCHO_WORKERS"));
    assert_true(tycho_env_name_known("TYCHO_LOKI_URL"));
    assert_true(tycho_env_name_known("TYCHO_LOCAL_QUEUES"));
    assert_false(tycho_env_name_known("TYCHO_WORKER"));
    assert_false(tycho_env_name_known("tycho_workers"));
    assert_null(tycho_env_name_near("TYCHO_WORKERS")); /* itself: no slip */
}

/* One letter missing, added, changed, two swapped, another case; two slips
 * in a long name. */
static void test_slips(void **state)
{
    (void)state;
    static const char *const slips[][2] = {
        {"TYCHO_WORKER", "TYCHO_WORKERS"},
        {"TYCHO_ROUTE", "TYCHO_ROUTES"},
        {"TYCHO_LISTENS", "TYCHO_LISTEN"},
        {"TYCHO_LOGLEVEL", "TYCHO_LOG_LEVEL"},
        {"TYCHO_DRAIN_TIMOEUT", "TYCHO_DRAIN_TIMEOUT"},
        {"TYCHO_RELAOD", "TYCHO_RELOAD"},
        {"tycho_workers", "TYCHO_WORKERS"},
        {"Tycho_Data_Dir", "TYCHO_DATA_DIR"},
        {"TYCHO_LOCAL_QUEUE", "TYCHO_LOCAL_QUEUES"},
        {"TYCHO_MAX_BODY_BYTE", "TYCHO_MAX_BODY_BYTES"},
        {"TYCHO_KEEP_ALIVE_TIMEOUT", "TYCHO_KEEPALIVE_TIMEOUT"},
        {"TYCHO_LOKI_URLS", "TYCHO_LOKI_URL"},
        {"TYCHO_HANDLR_TIMEOT", "TYCHO_HANDLER_TIMEOUT"}, /* two slips in a long name */
    };
    for (size_t i = 0; i < sizeof slips / sizeof *slips; i++) {
        const char *meant = tycho_env_name_near(slips[i][0]);
        if (!meant || strcmp(meant, slips[i][1]) != 0)
            fail_msg("%s: expected %s, got %s", slips[i][0], slips[i][1], meant ? meant : "none");
    }
}

/* Names the app or the test harness may use are not taken for slips. */
static void test_not_slips(void **state)
{
    (void)state;
    static const char *const others[] = {
        "TYCHO_BIN",        "TYCHO_SRC",           "TYCHO_BUILD",
        "TYCHO_WRAPPER",    "TYCHO_URL",           "TYCHO_APP_SECRET",
        "TYCHO_ENV",        "TYCHO_SPEC_TRICKY",   "TYCHO_LOKI_USER",
        "TYCHO_LISTEN_ALL", "TYCHO_SANITIZE",      "TYCHO_UPDATE_METRICS_FIXTURE",
        "TYCHO_PEERS_DIR",  "TYCHO_START_TIMEOUT", "TYCHO_TEST_FILTER",
    };
    for (size_t i = 0; i < sizeof others / sizeof *others; i++) {
        const char *meant = tycho_env_name_near(others[i]);
        if (meant) fail_msg("%s taken for a slip of %s", others[i], meant);
    }
}

static void test_check_env(void **state)
{
    (void)state;
    char err[256] = "";
    char *clean[] = {"PATH=/bin", "TYCHO_WORKERS=2", "TYCHO_BIN=/x", "TYCHO_=1", "TYCHO", NULL};
    assert_int_equal(tycho_env_check_names(clean, err, sizeof err), 0);
    char *slip[] = {"PATH=/bin", "TYCHO_WORKER=2", NULL};
    assert_int_equal(tycho_env_check_names(slip, err, sizeof err), -1);
    assert_string_equal(err,
                        "TYCHO_WORKER: tycho reads no such variable; did you mean TYCHO_WORKERS?");
    char *lower[] = {"tycho_drain_timeout=5", NULL};
    assert_int_equal(tycho_env_check_names(lower, err, sizeof err), -1);
    assert_string_equal(err, "tycho_drain_timeout: tycho reads no such variable; did you mean "
                             "TYCHO_DRAIN_TIMEOUT?");
    /* a name longer than any setting is compared, not overrun */
    char long_name[300];
    memset(long_name, 'A', sizeof long_name);
    memcpy(long_name, "TYCHO_", 6);
    memcpy(long_name + sizeof long_name - 3, "=1", 3);
    char *longer[] = {long_name, NULL};
    assert_int_equal(tycho_env_check_names(longer, err, sizeof err), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_known),
        cmocka_unit_test(test_slips),
        cmocka_unit_test(test_not_slips),
        cmocka_unit_test(test_check_env),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
