/* process_metrics: the process_* families read the process at scrape time,
 * whatever happened at the registration of another registry. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "telemetry/metrics.h"
#include "telemetry/process_metrics.h"

#include <math.h>
#include <sys/resource.h>
#include <time.h>

/* The value of the unlabelled family name in a snapshot of r. */
static double scrape(tycho_metrics_t *r, const char *name)
{
    tycho_metrics_snapshot_t *s = tycho_metrics_snapshot(r);
    assert_non_null(s);
    const tycho_snapshot_family_t *f = tycho_metrics_snapshot_find(s, name);
    assert_non_null(f);
    assert_int_equal(f->nseries, 1);
    double v = f->series[0].value;
    tycho_metrics_snapshot_free(s);
    return v;
}

static void test_readings(void **state)
{
    (void)state;
    tycho_metrics_t *r = tycho_metrics_new(1, 0);
    char err[256];
    assert_int_equal(tycho_process_metrics_register(r, err, sizeof err), 0);
    double now = (double)time(NULL), start = scrape(r, "process_start_time_seconds");
    assert_true(start > now - 3600 && start <= now + 1);
    assert_true(scrape(r, "process_open_fds") >= 3);
    assert_true(scrape(r, "process_max_fds") >= scrape(r, "process_open_fds"));
    assert_true(scrape(r, "process_resident_memory_bytes") > 0);
    tycho_metrics_free(r);
}

/* Each Lua state registers the families into its own scratch registry, on
 * its own thread, at any time: one doing so while /proc cannot be opened
 * (every descriptor taken) must not change what another registry reports. */
static void test_registration_without_descriptors(void **state)
{
    (void)state;
    char err[256];
    tycho_metrics_t *a = tycho_metrics_new(1, 0), *b = tycho_metrics_new(1, 0);
    assert_int_equal(tycho_process_metrics_register(a, err, sizeof err), 0);
    double start = scrape(a, "process_start_time_seconds");
    assert_true(start > 0);

    struct rlimit saved, none;
    assert_int_equal(getrlimit(RLIMIT_NOFILE, &saved), 0);
    none = saved;
    none.rlim_cur = 3; /* stdin, stdout, stderr: no room to open /proc */
    assert_int_equal(setrlimit(RLIMIT_NOFILE, &none), 0);
    int rc = tycho_process_metrics_register(b, err, sizeof err);
    assert_int_equal(setrlimit(RLIMIT_NOFILE, &saved), 0);
    assert_int_equal(rc, 0);

    /* the same start (btime moves only when the clock is set), never -1 */
    assert_true(fabs(scrape(a, "process_start_time_seconds") - start) <= 1);
    assert_true(fabs(scrape(b, "process_start_time_seconds") - start) <= 1);
    tycho_metrics_free(a);
    tycho_metrics_free(b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_readings),
        cmocka_unit_test(test_registration_without_descriptors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
