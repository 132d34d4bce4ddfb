/* The log writer alone: N pairs of the lines the hello route writes (the
 * access line and one log.info line with a field), with the request's
 * context ids set, into a sink that only counts bytes. Prints ns per pair;
 * run it under callgrind for instructions (bench/log_writer.sh does both). */
#include "core/log.h"

#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static size_t g_bytes;

static void count(const char *line, size_t len, const tycho_log_meta_t *meta, void *ud)
{
    (void)line, (void)meta, (void)ud;
    g_bytes += len;
}

static double seconds(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

int main(int argc, char **argv)
{
    long n = argc > 1 ? atol(argv[1]) : 1000000;
    if (n <= 0) {
        fprintf(stderr, "usage: log_writer [pairs > 0]\n");
        return 2;
    }
    static const tycho_log_sink_t counter = {count, NULL};
    tycho_log_set_sink(&counter);
    /* as the request observer sets it: the trace and span ids are hex it made */
    const tycho_log_context_t ctx = {
        "325d4d6f340385caa4d29c448bbac5e1", "6b0856e95e67d47050e52c2ff12fccf2", "094b7483269cd93a",
        TYCHO_LOG_PLAIN(TYCHO_LOG_KEY_TRACE_ID) | TYCHO_LOG_PLAIN(TYCHO_LOG_KEY_SPAN_ID)};
    tycho_log_set_context(&ctx);
    double t0 = seconds();
    for (long i = 0; i < n; i++) {
        tycho_log_info("access", LF_STRN("method", "GET", 3), LF_STR("route", "/hello"),
                       LF_STRN("path", "/hello", 6), LF_INT("status", 200),
                       LF_JSON("duration_ms", "0.005"), LF_INT("bytes_in", 50),
                       LF_INT("bytes_out", 182), LF_STR("client_ip", "127.0.0.1"),
                       LF_STRN("user_agent", "", 0));
        tycho_log_info("hello", LF_STR("route", "/hello"), LF_STR("q", "1"));
    }
    double t = seconds() - t0;
    printf("%ld pairs: %.1f ns a pair, %zu bytes a pair\n", n, t * 1e9 / (double)n,
           g_bytes / (size_t)n);
    return 0;
}
