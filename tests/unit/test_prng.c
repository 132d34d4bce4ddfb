/* The per-thread generator: units in [0, 1) spread over it, and its seed
 * differs between threads and between processes (the retry jitter of
 * several tasks polling one queue must not move in step, as it did with an
 * unseeded random()). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "core/prng.h"

#include <pthread.h>
#include <sys/wait.h>
#include <unistd.h>

static void test_unit_range(void **state)
{
    (void)state;
    int buckets[10] = {0};
    for (int i = 0; i < 100000; i++) {
        double u = tycho_prng_unit();
        assert_true(u >= 0.0 && u < 1.0);
        buckets[(int)(u * 10)]++;
    }
    for (int b = 0; b < 10; b++) /* 10,000 expected each; 5 sigma is ~470 */
        assert_in_range(buckets[b], 9000, 11000);
}

static void *first_draw(void *out)
{
    *(uint64_t *)out = tycho_prng_next();
    return NULL;
}

static void test_threads_differ(void **state)
{
    (void)state;
    uint64_t a = 0, b = 0;
    pthread_t ta, tb;
    assert_int_equal(pthread_create(&ta, NULL, first_draw, &a), 0);
    assert_int_equal(pthread_create(&tb, NULL, first_draw, &b), 0);
    pthread_join(ta, NULL);
    pthread_join(tb, NULL);
    assert_true(a != b);
}

/* a fresh process's first draw, through a pipe */
static uint64_t child_first_draw(void)
{
    int fd[2];
    assert_int_equal(pipe(fd), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        uint64_t v = 0;
        pthread_t t; /* a new thread: nothing inherited from the parent's state */
        if (pthread_create(&t, NULL, first_draw, &v) == 0) pthread_join(t, NULL);
        _exit(write(fd[1], &v, sizeof v) == (ssize_t)sizeof v ? 0 : 1);
    }
    close(fd[1]);
    uint64_t v = 0;
    assert_int_equal(read(fd[0], &v, sizeof v), (ssize_t)sizeof v);
    close(fd[0]);
    int st;
    assert_int_equal(waitpid(pid, &st, 0), pid);
    assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    return v;
}

static void test_processes_differ(void **state)
{
    (void)state;
    assert_true(child_first_draw() != child_first_draw());
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_unit_range),
        cmocka_unit_test(test_threads_differ),
        cmocka_unit_test(test_processes_differ),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
