/* tycho_aws_crc32 (server/aws/client.c) from several threads at once, the
 * first calls of the process among them: workers check DynamoDB's
 * x-amz-crc32 while the telemetry thread writes gzip trailers. A program of
 * its own, so that no earlier test has filled the table already. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <string.h>

#include "aws/client.h"

#define THREADS 8
#define ROUNDS 2000

/* published check values of CRC-32/ISO-HDLC (zlib's crc32) */
static const struct {
    const char *in;
    uint32_t crc;
} vectors[] = {
    {"123456789", 0xCBF43926u},
    {"The quick brown fox jumps over the lazy dog", 0x414FA339u},
    {"a", 0xE8B7BE43u},
    {"", 0},
};

static pthread_barrier_t start;

/* cmocka's asserts are for the main thread: each thread counts its wrong
 * answers and the test checks the counts */
static void *hash_all(void *arg)
{
    long *wrong = arg;
    pthread_barrier_wait(&start);
    for (int r = 0; r < ROUNDS; r++)
        for (size_t i = 0; i < sizeof vectors / sizeof vectors[0]; i++)
            if (tycho_aws_crc32(vectors[i].in, strlen(vectors[i].in)) != vectors[i].crc) (*wrong)++;
    return NULL;
}

static void test_concurrent_first_use(void **state)
{
    (void)state;
    pthread_t t[THREADS];
    long wrong[THREADS] = {0};
    assert_int_equal(pthread_barrier_init(&start, NULL, THREADS), 0);
    for (int i = 0; i < THREADS; i++)
        assert_int_equal(pthread_create(&t[i], NULL, hash_all, &wrong[i]), 0);
    for (int i = 0; i < THREADS; i++) {
        assert_int_equal(pthread_join(t[i], NULL), 0);
        assert_int_equal(wrong[i], 0);
    }
    pthread_barrier_destroy(&start);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_concurrent_first_use),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
