/* host_label: the first max distinct hosts keep their name, later ones are
 * "other"; a known host stays named however many came after it. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "aws/host_label.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void test_bound(void **state)
{
    (void)state;
    enum { MAX = 1000 };
    tycho_host_labels_t *b = tycho_host_labels_new(MAX);
    assert_non_null(b);
    char host[64];
    for (int i = 0; i < 3 * MAX; i++) {
        snprintf(host, sizeof host, "hook-%d.example.com", i);
        const char *l = tycho_host_labels_get(b, host);
        assert_string_equal(l, i < MAX ? host : TYCHO_HOST_LABEL_OTHER);
    }
    assert_int_equal(tycho_host_labels_count(b), MAX);
    for (int i = 0; i < MAX; i += 7) { /* the admitted ones, again */
        snprintf(host, sizeof host, "hook-%d.example.com", i);
        assert_string_equal(tycho_host_labels_get(b, host), host);
    }
    assert_string_equal(tycho_host_labels_get(b, "new.example.com"), TYCHO_HOST_LABEL_OTHER);
    assert_int_equal(tycho_host_labels_count(b), MAX);
    tycho_host_labels_free(b);

    b = tycho_host_labels_new(0); /* every host "other" */
    assert_non_null(b);
    assert_string_equal(tycho_host_labels_get(b, "a"), TYCHO_HOST_LABEL_OTHER);
    assert_string_equal(tycho_host_labels_get(b, ""), TYCHO_HOST_LABEL_OTHER);
    assert_int_equal(tycho_host_labels_count(b), 0);
    tycho_host_labels_free(b);
}

static void test_env(void **state)
{
    (void)state;
    char err[200];
    size_t n = 0;
    unsetenv(TYCHO_HOST_LABEL_ENV);
    assert_int_equal(tycho_host_labels_max_from_env(&n, err, sizeof err), 0);
    assert_int_equal(n, TYCHO_HOST_LABEL_DEFAULT_MAX);
    setenv(TYCHO_HOST_LABEL_ENV, " 250 ", 1);
    assert_int_equal(tycho_host_labels_max_from_env(&n, err, sizeof err), 0);
    assert_int_equal(n, 250);
    setenv(TYCHO_HOST_LABEL_ENV, "0", 1);
    assert_int_equal(tycho_host_labels_max_from_env(&n, err, sizeof err), 0);
    assert_int_equal(n, 0);
    setenv(TYCHO_HOST_LABEL_ENV, "1e3", 1);
    assert_int_equal(tycho_host_labels_max_from_env(&n, err, sizeof err), -1);
    assert_string_equal(err, "TYCHO_HTTP_CLIENT_MAX_HOSTS: expected a whole number from 0 to "
                             "10000, got \"1e3\"");
    unsetenv(TYCHO_HOST_LABEL_ENV);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bound),
        cmocka_unit_test(test_env),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
