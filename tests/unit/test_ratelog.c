/* The recurring-event log policy: the first event is due, then at most one
 * line per interval carrying the events held back; with a reason, a changed
 * reason is due at once (the local backend's housekeeping failures: SQLite's
 * text), the same one stays held back. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "core/ratelog.h"

#define EVERY 600000

static void test_first_then_every_interval(void **state)
{
    (void)state;
    tycho_ratelog_t r = {0};
    uint64_t n = 0;
    assert_int_equal(tycho_ratelog_due(&r, 1000, EVERY, 0, &n), 0); /* nothing yet */
    assert_int_equal(tycho_ratelog_due(&r, 1000, EVERY, 1, &n), 1);
    assert_int_equal(n, 1);
    assert_int_equal(tycho_ratelog_due(&r, 61000, EVERY, 1, &n), 0);
    assert_int_equal(tycho_ratelog_due(&r, 121000, EVERY, 2, &n), 0);
    assert_int_equal(tycho_ratelog_due(&r, 601000, EVERY, 0, &n), 1);
    assert_int_equal(n, 3);
    r = (tycho_ratelog_t){0}; /* zeroed again: due at once */
    assert_int_equal(tycho_ratelog_due(&r, 602000, EVERY, 1, &n), 1);
    assert_int_equal(n, 1);
}

static void test_same_reason_held_back(void **state)
{
    (void)state;
    tycho_ratelog_t r = {0};
    uint64_t n = 0;
    const char *malformed = "/d/local-aws.sqlite3: database disk image is malformed";
    assert_int_equal(tycho_ratelog_due_reason(&r, 1000, EVERY, malformed, &n), 1);
    assert_int_equal(n, 1);
    for (uint64_t t = 61000; t < 601000; t += 60000)
        assert_int_equal(tycho_ratelog_due_reason(&r, t, EVERY, malformed, &n), 0);
    assert_int_equal(tycho_ratelog_due_reason(&r, 601000, EVERY, malformed, &n), 1);
    assert_int_equal(n, 10);
}

static void test_new_reason_at_once(void **state)
{
    (void)state;
    tycho_ratelog_t r = {0};
    uint64_t n = 0;
    const char *locked = "/d/local-aws.sqlite3: database is locked";
    const char *full = "/d/local-aws.sqlite3: database or disk is full";
    assert_int_equal(tycho_ratelog_due_reason(&r, 1000, EVERY, locked, &n), 1);
    assert_int_equal(tycho_ratelog_due_reason(&r, 61000, EVERY, locked, &n), 0);
    assert_int_equal(tycho_ratelog_due_reason(&r, 121000, EVERY, locked, &n), 0);
    /* another reason: due now, counting the two held back and itself */
    assert_int_equal(tycho_ratelog_due_reason(&r, 181000, EVERY, full, &n), 1);
    assert_int_equal(n, 3);
    /* the new reason repeats: held back from its own first line */
    for (uint64_t t = 241000; t < 781000; t += 60000)
        assert_int_equal(tycho_ratelog_due_reason(&r, t, EVERY, full, &n), 0);
    assert_int_equal(tycho_ratelog_due_reason(&r, 781000, EVERY, full, &n), 1);
    assert_int_equal(n, 10);
    /* back to the first reason: a change too */
    assert_int_equal(tycho_ratelog_due_reason(&r, 841000, EVERY, locked, &n), 1);
    assert_int_equal(n, 1);
}

/* curl names how long a connect or a timeout took: one error whatever the
 * milliseconds and bytes, while another status is another error */
static void test_measures_ignored(void **state)
{
    (void)state;
    tycho_ratelog_t r = {0};
    uint64_t n = 0;
    assert_int_equal(tycho_ratelog_due_reason(&r, 1000, EVERY,
                                              "imds: token request: timeout: Operation timed out "
                                              "after 1000 milliseconds with 0 bytes received",
                                              &n),
                     1);
    assert_int_equal(tycho_ratelog_due_reason(&r, 2000, EVERY,
                                              "imds: token request: timeout: Operation timed out "
                                              "after 1003 milliseconds with 12 bytes received",
                                              &n),
                     0);
    assert_int_equal(tycho_ratelog_due_reason(&r, 3000, EVERY,
                                              "imds: token request: timeout: Operation timed out "
                                              "after 1001 milliseconds with 3 out of 9 bytes "
                                              "received",
                                              &n),
                     1); /* "3 out of 9" is another form of the message */
    r = (tycho_ratelog_t){0};
    const char *refused = "container: connection failed: Failed to connect to 127.0.0.1 port "
                          "8080 after 0 ms: Couldn't connect to server";
    const char *refused_later = "container: connection failed: Failed to connect to 127.0.0.1 "
                                "port 8080 after 2 ms: Couldn't connect to server";
    const char *other_port = "container: connection failed: Failed to connect to 127.0.0.1 port "
                             "8081 after 0 ms: Couldn't connect to server";
    assert_int_equal(tycho_ratelog_due_reason(&r, 1000, EVERY, refused, &n), 1);
    assert_int_equal(tycho_ratelog_due_reason(&r, 2000, EVERY, refused_later, &n), 0);
    assert_int_equal(tycho_ratelog_due_reason(&r, 3000, EVERY, other_port, &n), 1);
    assert_int_equal(n, 2);
    assert_int_equal(tycho_ratelog_due_reason(&r, 4000, EVERY, "imds: credentials HTTP 404", &n),
                     1);
    assert_int_equal(tycho_ratelog_due_reason(&r, 5000, EVERY, "imds: credentials HTTP 500", &n),
                     1);
}

/* A UTC date-time as tycho writes one is no part of the error either: an
 * expired set's message carries the local time of each failure. */
static void test_datetimes_ignored(void **state)
{
    (void)state;
    tycho_ratelog_t r = {0};
    uint64_t n = 0;
    assert_int_equal(tycho_ratelog_due_reason(&r, 1000, EVERY,
                                              "imds: expired (Expiration 2026-01-01T00:00:00Z, "
                                              "local time 2026-01-01T00:10:01Z)",
                                              &n),
                     1);
    assert_int_equal(tycho_ratelog_due_reason(&r, 2000, EVERY,
                                              "imds: expired (Expiration 2026-01-01T00:00:00Z, "
                                              "local time 2026-01-01T00:10:02Z)",
                                              &n),
                     0);
    assert_int_equal(
        tycho_ratelog_due_reason(&r, 3000, EVERY,
                                 "container: expired (Expiration 2026-01-01T00:00:00Z, "
                                 "local time 2026-01-01T00:10:03Z)",
                                 &n),
        1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_first_then_every_interval),
        cmocka_unit_test(test_same_reason_held_back),
        cmocka_unit_test(test_new_reason_at_once),
        cmocka_unit_test(test_measures_ignored),
        cmocka_unit_test(test_datetimes_ignored),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
