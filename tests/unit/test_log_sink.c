/* tycho_log_set_sink (server/core/log.c) while other threads log: the
 * telemetry thread installs its sink as it starts and removes it as it
 * stops, and a worker past the drain timeout may still be writing then.
 * Every line must reach one whole sink, its function with its own argument.
 * The function and its argument were two plain globals: a data race
 * ThreadSanitizer reports on the old code (scripts/tsan; a normal build
 * runs the same threads and checks the pairs and the counts). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdatomic.h>

#include "core/log.h"

#define WRITERS 3
#define LINES 3000
#define SWITCHES 3000

typedef struct {
    atomic_long lines;
    atomic_long wrong_ud; /* lines handed to this sink's function with another's argument */
} counter_t;

static counter_t a, b;

static void to_a(const char *line, size_t len, const tycho_log_meta_t *meta, void *ud)
{
    (void)line, (void)len, (void)meta;
    if (ud != &a) atomic_fetch_add(&a.wrong_ud, 1);
    atomic_fetch_add(&a.lines, 1);
}

static void to_b(const char *line, size_t len, const tycho_log_meta_t *meta, void *ud)
{
    (void)line, (void)len, (void)meta;
    if (ud != &b) atomic_fetch_add(&b.wrong_ud, 1);
    atomic_fetch_add(&b.lines, 1);
}

static const tycho_log_sink_t sink_a = {to_a, &a};
static const tycho_log_sink_t sink_b = {to_b, &b};

static pthread_barrier_t start;

static void *write_lines(void *arg)
{
    (void)arg;
    pthread_barrier_wait(&start);
    for (int i = 0; i < LINES; i++)
        tycho_log_info("a line", LF_INT("i", i));
    return NULL;
}

static void test_switch_while_writing(void **state)
{
    (void)state;
    tycho_log_set_sink(&sink_a);
    pthread_t t[WRITERS];
    assert_int_equal(pthread_barrier_init(&start, NULL, WRITERS + 1), 0);
    for (int i = 0; i < WRITERS; i++)
        assert_int_equal(pthread_create(&t[i], NULL, write_lines, NULL), 0);
    pthread_barrier_wait(&start);
    for (int i = 0; i < SWITCHES; i++)
        tycho_log_set_sink(i % 2 ? &sink_a : &sink_b);
    for (int i = 0; i < WRITERS; i++)
        assert_int_equal(pthread_join(t[i], NULL), 0);
    tycho_log_set_sink(NULL);
    pthread_barrier_destroy(&start);

    assert_int_equal(atomic_load(&a.wrong_ud), 0);
    assert_int_equal(atomic_load(&b.wrong_ud), 0);
    assert_int_equal(atomic_load(&a.lines) + atomic_load(&b.lines), (long)WRITERS * LINES);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_switch_while_writing),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
