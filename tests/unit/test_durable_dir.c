/* Unit tests for durable_dir: the directories it creates get their parent
 * fsynced (tests/lib/fsync_spy.h watches), existing ones are left alone,
 * and a path it cannot create or sync is reported with the reason. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "core/durable_dir.h"
#include "tests/lib/fsync_spy.h"

#include <stdlib.h>

static char tmp[64];

static int setup(void **state)
{
    (void)state;
    snprintf(tmp, sizeof tmp, "/tmp/tycho-durable-XXXXXX");
    assert_non_null(mkdtemp(tmp));
    fsync_spy_reset();
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmp);
    assert_int_equal(system(cmd), 0);
    return 0;
}

static void test_create_syncs_parents(void **state)
{
    (void)state;
    char dir[128], a[128], err[256];
    snprintf(a, sizeof a, "%s/a", tmp);
    snprintf(dir, sizeof dir, "%s/a/b/", tmp);
    assert_int_equal(tycho_durable_dir_create(dir, err, sizeof err), 0);
    struct stat st;
    assert_int_equal(stat(dir, &st), 0);
    assert_true(S_ISDIR(st.st_mode));
    /* a's entry is in tmp, b's in a */
    assert_true(fsync_spy_synced(tmp));
    assert_true(fsync_spy_synced(a));
    assert_int_equal(fsync_spy_n, 2);
    /* there already: nothing to make durable */
    fsync_spy_reset();
    assert_int_equal(tycho_durable_dir_create(dir, err, sizeof err), 0);
    assert_int_equal(fsync_spy_n, 0);
}

static void test_sync(void **state)
{
    (void)state;
    char err[256], want[256], path[128];
    assert_int_equal(tycho_durable_dir_sync(tmp, err, sizeof err), 0);
    assert_true(fsync_spy_synced(tmp));
    snprintf(path, sizeof path, "%s/missing", tmp);
    assert_int_equal(tycho_durable_dir_sync(path, err, sizeof err), -1);
    snprintf(want, sizeof want, "cannot sync directory %s: No such file or directory", path);
    assert_string_equal(err, want);
}

static void test_errors_name_the_reason(void **state)
{
    (void)state;
    char file[128], dir[160], err[256];
    snprintf(file, sizeof file, "%s/file", tmp);
    FILE *f = fopen(file, "w");
    assert_non_null(f);
    fclose(f);
    snprintf(dir, sizeof dir, "%s/sub", file);
    assert_int_equal(tycho_durable_dir_create(dir, err, sizeof err), -1);
    assert_string_equal(err, "cannot create it: Not a directory");
    assert_int_equal(tycho_durable_dir_sync(file, err, sizeof err), -1);
    char want[256];
    snprintf(want, sizeof want, "cannot sync directory %s: Not a directory", file);
    assert_string_equal(err, want);
    assert_int_equal(fsync_spy_n, 0);
}

/* A file system that cannot sync a directory is not an error (nothing to
 * make durable that way); a disk error is, naming the directory. */
static void test_sync_unsupported_is_not_an_error(void **state)
{
    (void)state;
    char err[256], want[256];
    fsync_spy_errno = EINVAL;
    assert_int_equal(tycho_durable_dir_sync(tmp, err, sizeof err), 0);
    fsync_spy_errno = ENOTSUP;
    assert_int_equal(tycho_durable_dir_sync(tmp, err, sizeof err), 0);
    fsync_spy_errno = EIO;
    assert_int_equal(tycho_durable_dir_sync(tmp, err, sizeof err), -1);
    snprintf(want, sizeof want, "cannot sync directory %s: Input/output error", tmp);
    assert_string_equal(err, want);
    fsync_spy_reset();
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_create_syncs_parents, setup, teardown),
        cmocka_unit_test_setup_teardown(test_sync, setup, teardown),
        cmocka_unit_test_setup_teardown(test_errors_name_the_reason, setup, teardown),
        cmocka_unit_test_setup_teardown(test_sync_unsupported_is_not_an_error, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
