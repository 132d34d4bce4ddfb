/* libFuzzer target for the request path: arbitrary bytes go through the
 * parser glue the way http/conn.c feeds it (tests/lib/http_feed.h), every
 * parsed request is answered through request_id and response_head, and the
 * invariants the engine relies on are checked (FEED_CHECK aborts).
 *
 * Input: 4 bytes of split seed, then the bytes a client sends. The same bytes
 * are fed in one read, cut at seeded random points, and (when short) one
 * byte at a time; the three logs must be identical: how TCP cut a stream
 * must never change what the server understood. A drain's look ahead
 * (tycho_http_parser_whole_request) must agree with the one read, and with
 * the bytes up to the first cut.
 *
 * Built and run by tests/fuzz/test_fuzz_http.sh (clang, -fsanitize=fuzzer). */
#include "tests/lib/http_feed.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const tycho_http_limits_t LIMITS = {256, 96, 128};

static uint32_t xorshift(uint32_t *s)
{
    uint32_t x = *s ? *s : 0x9e3779b9u;
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    return *s = x;
}

static void differ(const char *what, const char *a, const char *b)
{
    fprintf(stderr, "split changed the result (%s)\n--- one read\n%s--- %s\n%s", what, a, what, b);
    abort();
}

/* Equal logs, except that the status of a final error may differ: a request
 * with two faults (say a target past the limit that also holds a bad byte)
 * can meet either first depending on where reads were cut; both answers are
 * errors that close the connection. Everything before the error must match. */
static void compare(const char *what, const char *a, const char *b)
{
    size_t i = 0;
    while (a[i] && a[i] == b[i])
        i++;
    if (!a[i] && !b[i]) return;
    size_t line = i;
    while (line > 0 && a[line - 1] != '\n')
        line--;
    if (strncmp(a + line, "ERR ", 4) == 0 && strncmp(b + line, "ERR ", 4) == 0 &&
        strlen(a + line) == 8 && strlen(b + line) == 8)
        return;
    differ(what, a, b);
}

/* A drain answers the requests a connection already read when
 * tycho_http_parser_whole_request says one is whole: it must say so exactly
 * when the connection's parser, fed the same bytes (log: what it made of
 * them), comes to an answer (a request or an error, past a 100 Continue). */
static void check_whole(const char *in, size_t n, const char *log)
{
    if (strncmp(log, "CONTINUE\n", 9) == 0) log += 9;
    if (tycho_http_parser_whole_request(&LIMITS, in, 0, n) == (*log != '\0')) return;
    fprintf(stderr, "whole_request disagrees with the parser on %zu bytes:\n%s", n, log);
    abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 4) return 0;
    uint32_t seed;
    memcpy(&seed, data, 4);
    const char *in = (const char *)data + 4;
    size_t n = size - 4;

    http_feed_t one;
    feed_init(&one, &LIMITS);
    const char *log1 = feed_split(&one, in, n, NULL, 0);
    check_whole(in, n, log1);

    /* up to 16 random cuts */
    size_t cuts[16], ncuts = n ? xorshift(&seed) % 17 : 0;
    for (size_t i = 0; i < ncuts; i++)
        cuts[i] = xorshift(&seed) % (n + 1);
    for (size_t i = 1; i < ncuts; i++) /* insertion sort */
        for (size_t j = i; j > 0 && cuts[j - 1] > cuts[j]; j--) {
            size_t t = cuts[j];
            cuts[j] = cuts[j - 1];
            cuts[j - 1] = t;
        }
    if (ncuts) { /* and the bytes up to the first cut, a request's first read */
        http_feed_t head;
        feed_init(&head, &LIMITS);
        check_whole(in, cuts[0], feed_split(&head, in, cuts[0], NULL, 0));
        feed_free(&head);
    }
    http_feed_t split;
    feed_init(&split, &LIMITS);
    const char *log2 = feed_split(&split, in, n, cuts, ncuts);
    compare("random cuts", log1, log2);
    feed_free(&split);

    if (n <= 2048) {
        size_t *each = malloc((n ? n : 1) * sizeof *each);
        for (size_t i = 0; i < n; i++)
            each[i] = i + 1;
        http_feed_t bytes;
        feed_init(&bytes, &LIMITS);
        const char *log3 = feed_split(&bytes, in, n, each, n);
        compare("byte by byte", log1, log3);
        feed_free(&bytes);
        free(each);
    }
    feed_free(&one);
    return 0;
}
