/* logsink: whole lines through the byte rings, wraparound, drops, flush,
 * the wake-up of a filling ring, a full ring's wait for room. */
#define _GNU_SOURCE /* memmem */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "telemetry/logsink.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <semaphore.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* A pipe for a sink to write to (fd[1]) and, once started, a thread that
 * reads all of it from fd[0] into data until fd[1] is closed. */
struct reader {
    int fd[2];
    pthread_t th;
    char *data;
    size_t len, cap;
};

static void *read_all(void *p)
{
    struct reader *r = p;
    for (;;) {
        if (r->cap - r->len < 65536) {
            r->cap = r->cap ? r->cap * 2 : 1 << 20;
            r->data = realloc(r->data, r->cap);
        }
        ssize_t n = read(r->fd[0], r->data + r->len, r->cap - r->len - 1);
        if (n <= 0) break;
        r->len += (size_t)n;
    }
    r->data[r->len] = 0;
    return NULL;
}

static void reader_open(struct reader *r)
{
    *r = (struct reader){0};
    assert_int_equal(pipe(r->fd), 0);
}

static void reader_start(struct reader *r)
{
    assert_int_equal(pthread_create(&r->th, NULL, read_all, r), 0);
}

/* Closes the write end and waits: data then holds everything written. */
static void reader_finish(struct reader *r)
{
    close(r->fd[1]);
    pthread_join(r->th, NULL);
    close(r->fd[0]);
}

static uint64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void close_and_run(tycho_logsink_t *s, uv_loop_t *loop)
{
    tycho_logsink_stop(s);
    uv_run(loop, UV_RUN_DEFAULT); /* close callbacks */
    tycho_logsink_free(s);
}

/* A sink writing to o's fd, started on loop (initialised here), which this
 * thread runs: drained by hand or by uv_run. */
static tycho_logsink_t *sink_on_loop(uv_loop_t *loop, const tycho_logsink_opts_t *o)
{
    uv_loop_init(loop);
    tycho_logsink_t *s = tycho_logsink_new(o);
    assert_non_null(s);
    assert_int_equal(tycho_logsink_start(s, loop), 0);
    return s;
}

static void test_roundtrip_wraparound(void **state)
{
    (void)state;
    struct reader rd;
    reader_open(&rd);
    reader_start(&rd);
    uv_loop_t loop;
    /* A tiny ring: records wrap around its end all the time. */
    tycho_logsink_opts_t o = {.fd = rd.fd[1], .producer_bytes = 1024, .max_line = 600};
    tycho_logsink_t *s = sink_on_loop(&loop, &o);
    char line[700];
    for (int i = 0; i < 5000; i++) {
        int pad = (i * 37) % 300;
        int n = snprintf(line, sizeof line, "{\"i\":%d,\"pad\":\"%*s\"}\n", i, pad, "");
        tycho_logsink_write(line, (size_t)n, NULL, s);
        if (tycho_logsink_queued(s) > 1)
            while (tycho_logsink_drain(s) != 0)
                uv_run(&loop, UV_RUN_ONCE);
    }
    tycho_logsink_write("no newline", 10, NULL, s); /* one is added */
    assert_int_equal(tycho_logsink_flush(s, 2000), 0);
    for (int r = 0; r < TYCHO_DROP_COUNT_; r++)
        assert_int_equal(tycho_logsink_dropped(s, r), 0);
    close_and_run(s, &loop);
    uv_loop_close(&loop);
    reader_finish(&rd);

    char *p = rd.data;
    for (int i = 0; i < 5000; i++) {
        int pad = (i * 37) % 300;
        int n = snprintf(line, sizeof line, "{\"i\":%d,\"pad\":\"%*s\"}\n", i, pad, "");
        if (strncmp(p, line, (size_t)n) != 0) fail_msg("line %d differs: %.80s", i, p);
        p += n;
    }
    assert_string_equal(p, "no newline\n");
    free(rd.data);
}

static void test_drops_and_report(void **state)
{
    (void)state;
    struct reader rd;
    reader_open(&rd);
    uv_loop_t loop;
    tycho_logsink_opts_t o = {.fd = rd.fd[1],
                              .producer_bytes = 4096,
                              .max_line = 1000,
                              .report_interval_ms = 1,
                              .service = "svc\"x"};
    tycho_logsink_t *s = sink_on_loop(&loop, &o);
    char big[2000];
    memset(big, 'b', sizeof big);
    tycho_logsink_write(big, sizeof big, NULL, s); /* over max_line */
    assert_int_equal(tycho_logsink_dropped(s, TYCHO_DROP_TOO_LARGE), 1);
    /* Nobody reads the pipe: it fills (64 KiB), then the ring, then lines
     * are dropped — and writing never waits. */
    char line[128];
    int n = snprintf(line, sizeof line, "{\"msg\":\"%0100d\"}\n", 0);
    uint64_t t0 = now_ms();
    for (int i = 0; i < 20000; i++) {
        tycho_logsink_write(line, (size_t)n, NULL, s);
        if (i % 100 == 0) uv_run(&loop, UV_RUN_NOWAIT);
    }
    assert_true(now_ms() - t0 < 2000);
    uint64_t full = tycho_logsink_dropped(s, TYCHO_DROP_QUEUE_FULL);
    assert_true(full > 10000);
    /* Now drain it: the report line comes first, then later lines whole. */
    reader_start(&rd);
    assert_int_equal(tycho_logsink_flush(s, 5000), 0);
    for (int i = 0; i < 100; i++)
        tycho_logsink_write("{\"after\":1}\n", 12, NULL, s);
    assert_int_equal(tycho_logsink_flush(s, 5000), 0);
    assert_int_equal(tycho_logsink_dropped(s, TYCHO_DROP_QUEUE_FULL), full);
    assert_int_equal(tycho_logsink_unreported(s), 0); /* the report line was written */
    close_and_run(s, &loop);
    uv_loop_close(&loop);
    reader_finish(&rd);
    char *rep = NULL;
    for (char *q = rd.data; (q = strstr(q, "log lines dropped")); q++)
        rep = q; /* the last */
    assert_non_null(rep);
    assert_non_null(strstr(rd.data, "\"service\":\"svc\\\"x\""));
    char want[64];
    snprintf(want, sizeof want, "\"dropped_total\":%llu", (unsigned long long)(full + 1));
    if (!strstr(rep, want)) fail_msg("want %s in %.300s", want, rep);
    assert_non_null(strstr(rep, "\"too_large\":1"));
    /* Every line is whole: only known shapes. */
    int after = 0;
    for (char *l = rd.data; *l;) {
        char *e = strchr(l, '\n');
        assert_non_null(e);
        if (strncmp(l, "{\"after\":1}", 11) == 0)
            after++;
        else if (!(strncmp(l, line, (size_t)n - 1) == 0 && e - l == n - 1) &&
                 !strstr(l, "log lines dropped"))
            fail_msg("torn line: %.*s", (int)(e - l), l);
        l = e + 1;
    }
    assert_int_equal(after, 100);
    free(rd.data);
}

/* A line dropped for its size is reported as such, not as a slow output. */
static void test_too_large_report(void **state)
{
    (void)state;
    struct reader rd;
    reader_open(&rd);
    reader_start(&rd);
    uv_loop_t loop;
    tycho_logsink_opts_t o = {.fd = rd.fd[1], .max_line = 1000, .report_interval_ms = 1};
    tycho_logsink_t *s = sink_on_loop(&loop, &o);
    char big[2000];
    memset(big, 'b', sizeof big);
    tycho_logsink_write(big, sizeof big, NULL, s);
    assert_int_equal(tycho_logsink_flush(s, 5000), 0);
    close_and_run(s, &loop);
    uv_loop_close(&loop);
    reader_finish(&rd);
    const char *want = "\"msg\":\"log lines dropped: too large (over max_line bytes)\"";
    if (!strstr(rd.data, want) || !strstr(rd.data, "\"too_large\":1,") ||
        !strstr(rd.data, "\"max_line\":1000}"))
        fail_msg("want %s in %s", want, rd.data);
    free(rd.data);
}

static void test_flush_deadline(void **state)
{
    (void)state;
    int fds[2];
    assert_int_equal(pipe(fds), 0);
    tycho_logsink_opts_t o = {.fd = fds[1], .producer_bytes = 1 << 20};
    tycho_logsink_t *s = tycho_logsink_new(&o);
    /* Not started: flush still writes, with poll(2), and gives up in time. */
    fcntl(fds[1], F_SETFL, fcntl(fds[1], F_GETFL) | O_NONBLOCK);
    char line[1000];
    memset(line, 'x', sizeof line - 1);
    line[sizeof line - 1] = '\n';
    for (int i = 0; i < 500; i++)
        tycho_logsink_write(line, sizeof line, NULL, s);
    uint64_t t0 = now_ms();
    assert_int_equal(tycho_logsink_flush(s, 200), -ETIMEDOUT);
    uint64_t took = now_ms() - t0;
    assert_true(took >= 190 && took < 1500);
    assert_true(tycho_logsink_dropped(s, TYCHO_DROP_SHUTDOWN) > 300);
    assert_int_equal(tycho_logsink_queued(s), 0);
    /* the pipe never took the drop report: every loss is still to be told */
    assert_int_equal(tycho_logsink_unreported(s), tycho_logsink_dropped_total(s));
    tycho_logsink_free(s);
    close(fds[0]);
    close(fds[1]);
}

struct prod_arg {
    tycho_logsink_t *s;
    int id;
};

static void *produce(void *p)
{
    struct prod_arg *a = p;
    char line[64];
    for (int i = 0; i < 1000; i++) {
        int n = snprintf(line, sizeof line, "t%d %d\n", a->id, i);
        tycho_logsink_write(line, (size_t)n, NULL, a->s);
    }
    return NULL;
}

static void test_more_threads_than_slots(void **state)
{
    (void)state;
    struct reader rd;
    reader_open(&rd);
    reader_start(&rd);
    /* Two private rings; the third and fourth thread share the last one. */
    tycho_logsink_opts_t o = {.fd = rd.fd[1], .producer_bytes = 1 << 20, .max_producers = 2};
    tycho_logsink_t *s = tycho_logsink_new(&o);
    pthread_t th[4];
    struct prod_arg args[4];
    for (int i = 0; i < 4; i++) {
        args[i] = (struct prod_arg){s, i};
        pthread_create(&th[i], NULL, produce, &args[i]);
    }
    for (int i = 0; i < 4; i++)
        pthread_join(th[i], NULL);
    uint64_t contended = tycho_logsink_dropped(s, TYCHO_DROP_QUEUE_FULL);
    assert_int_equal(tycho_logsink_flush(s, 5000), 0);
    tycho_logsink_free(s);
    reader_finish(&rd);
    int count[4] = {0}, next[4] = {0};
    for (char *l = rd.data; *l;) {
        int id, i;
        if (*l == '{') { /* the drop report the flush writes when the shared ring was busy */
            assert_non_null(strstr(l, "log lines dropped"));
            l = strchr(l, '\n') + 1;
            continue;
        }
        assert_int_equal(sscanf(l, "t%d %d", &id, &i), 2);
        assert_true(i >= next[id]); /* per-thread order kept */
        next[id] = i + 1;
        count[id]++;
        l = strchr(l, '\n') + 1;
    }
    /* A busy shared ring drops rather than waits: the count says how many. */
    assert_int_equal(count[0] + count[1] + count[2] + count[3] + (int)contended, 4000);
    free(rd.data);
}

/* What the tap saw: each line and its meta, in order. */
struct tapped {
    int lines, with_meta;
    int bad; /* a line whose meta did not come with it */
};

static void tap(void *ud, const char *line, size_t len, const tycho_log_meta_t *meta)
{
    struct tapped *t = ud;
    int i;
    assert_int_equal(sscanf(line, "{\"i\":%d}", &i), 1);
    assert_int_equal(line[len - 1], '\n');
    if (i != t->lines) t->bad++;
    t->lines++;
    if (i % 3 == 0) { /* written without meta */
        if (meta) t->bad++;
        return;
    }
    t->with_meta++;
    if (!meta || meta->ts_ns != i * 1000 + 7 || meta->level != (uint32_t)(i % 4) ||
        meta->at[TYCHO_LOG_KEY_TRACE_ID].off != 1 ||
        meta->at[TYCHO_LOG_KEY_TRACE_ID].len != (uint32_t)i || meta->escaped != 5)
        t->bad++;
}

/* Each line's meta goes through the ring with it (records of both shapes,
 * wrapping around a small ring) and reaches the tap unchanged. */
static void test_tap_meta(void **state)
{
    (void)state;
    int fd = open("/dev/null", O_WRONLY);
    assert_true(fd >= 0);
    tycho_logsink_opts_t o = {.fd = fd, .producer_bytes = 4096};
    tycho_logsink_t *s = tycho_logsink_new(&o);
    struct tapped t = {0};
    tycho_logsink_set_tap(s, tap, &t);
    char line[64];
    int sent = 0;
    for (int round = 0; round < 50; round++) {
        for (int k = 0; k < 40; k++, sent++) {
            int n = snprintf(line, sizeof line, "{\"i\":%d}\n", sent);
            tycho_log_meta_t m = {
                .ts_ns = sent * 1000 + 7, .level = (uint32_t)(sent % 4), .escaped = 5};
            m.at[TYCHO_LOG_KEY_TRACE_ID].off = 1;
            m.at[TYCHO_LOG_KEY_TRACE_ID].len = (uint32_t)sent;
            tycho_logsink_write(line, (size_t)n, sent % 3 ? &m : NULL, s);
        }
        assert_int_equal(tycho_logsink_drain(s), 0);
    }
    assert_int_equal(tycho_logsink_dropped(s, TYCHO_DROP_QUEUE_FULL), 0);
    assert_int_equal(t.lines, sent);
    assert_int_equal(t.with_meta, sent - (sent + 2) / 3);
    assert_int_equal(t.bad, 0);
    tycho_logsink_free(s);
    close(fd);
}

/* A sink whose consumer loop runs on its own thread (started, then draining
 * until consumer_stop), as the telemetry thread runs it. */
struct consumer {
    uv_loop_t loop;
    uv_async_t stop_async;
    tycho_logsink_t *s;
    pthread_t th;
    sem_t started;
    int start_rc;
};

static void on_stop(uv_async_t *a)
{
    struct consumer *c = a->data;
    tycho_logsink_stop(c->s);
    uv_close((uv_handle_t *)a, NULL);
}

/* Starts the sink on its own thread, as the contract wants, then runs the
 * loop there; started tells consumer_start it may return. */
static void *run_consumer(void *p)
{
    struct consumer *c = p;
    c->start_rc = tycho_logsink_start(c->s, &c->loop);
    sem_post(&c->started);
    if (c->start_rc == 0) uv_run(&c->loop, UV_RUN_DEFAULT);
    return NULL;
}

static void consumer_start(struct consumer *c, const tycho_logsink_opts_t *o)
{
    *c = (struct consumer){.s = tycho_logsink_new(o)};
    assert_non_null(c->s);
    uv_loop_init(&c->loop);
    uv_async_init(&c->loop, &c->stop_async, on_stop);
    c->stop_async.data = c;
    sem_init(&c->started, 0, 0);
    assert_int_equal(pthread_create(&c->th, NULL, run_consumer, c), 0);
    sem_wait(&c->started);
    sem_destroy(&c->started);
    assert_int_equal(c->start_rc, 0);
}

/* Stops the consumer's loop; the sink stays (flush it, then consumer_free). */
static void consumer_stop(struct consumer *c)
{
    uv_async_send(&c->stop_async);
    pthread_join(c->th, NULL);
}

static void consumer_free(struct consumer *c)
{
    tycho_logsink_free(c->s);
    uv_run(&c->loop, UV_RUN_DEFAULT);
    assert_int_equal(uv_loop_close(&c->loop), 0);
}

/* "{"i":NNNNN,"pad":"   ...   "}\n", the numbered line the tests below write. */
static int numbered_line(char *line, size_t cap, int i)
{
    return snprintf(line, cap, "{\"i\":%05d,\"pad\":\"%80s\"}\n", i, "");
}

/* Lines first..first+count-1 stand in data in order, from *p on; *p moves
 * past them. A drop report the sink wrote between them (it reports when it
 * gets round to it) is skipped. */
static void expect_numbered(const char **p, int first, int count)
{
    char line[128];
    for (int i = first; i < first + count; i++) {
        const char *end = strchr(*p, '\n');
        if (end && memmem(*p, (size_t)(end - *p), "log lines dropped", 17)) {
            *p = end + 1;
            i--;
            continue;
        }
        int n = numbered_line(line, sizeof line, i);
        if (strncmp(*p, line, (size_t)n) != 0) fail_msg("line %d missing or out of order", i);
        *p += n;
    }
}

/* Stops c, flushes and frees its sink, and checks that rd got lines 0..n-1,
 * in order, and nothing else. */
static void finish_lossless(struct consumer *c, struct reader *rd, int n)
{
    consumer_stop(c);
    assert_int_equal(tycho_logsink_flush(c->s, 5000), 0);
    assert_int_equal(tycho_logsink_dropped(c->s, TYCHO_DROP_QUEUE_FULL), 0);
    consumer_free(c);
    reader_finish(rd);
    const char *p = rd->data;
    expect_numbered(&p, 0, n);
    assert_string_equal(p, "");
    free(rd->data);
}

/* A sink idle long enough to poll only every 5 s still drains a ring that
 * fills within milliseconds, losing nothing: a producer past half full (or
 * one waiting for room) wakes it. Without a wake-up the writes would wait
 * for the 5 s poll and the run would take longer than 5 s. A full ring may
 * wait 10 s for room here, not the default 5 ms: a busy machine
 * (sanitizers, parallel builds) can keep the consumer's thread off the CPU
 * for longer than 5 ms, and the drops that made were the test's, not the
 * sink's. */
static void test_wake_on_filling(void **state)
{
    (void)state;
    struct reader rd;
    reader_open(&rd);
    reader_start(&rd);
    tycho_logsink_opts_t o = {.fd = rd.fd[1],
                              .producer_bytes = 64 * 1024,
                              .poll_min_ms = 5000,
                              .poll_max_ms = 5000,
                              .room_wait_ms = 10000};
    struct consumer c;
    consumer_start(&c, &o);
    usleep(50 * 1000); /* the first (empty) tick is over: the next is 5 s away */

    /* 400 KiB, six rings' worth, in about 0.1 s: 5 KiB every 1.25 ms */
    char line[128];
    uint64_t t0 = now_ms();
    for (int i = 0; i < 4000; i++) {
        tycho_logsink_write(line, (size_t)numbered_line(line, sizeof line, i), NULL, c.s);
        if (i % 50 == 49) usleep(1250);
    }
    assert_true(now_ms() - t0 < 5000); /* else the timer alone could have drained it */
    finish_lossless(&c, &rd, 4000);
}

/* A producer that outruns a live consumer by far (a 4 KiB ring holds ~35
 * of these lines; 20,000 are written without a pause) loses none: a full
 * ring waits for the consumer to make room. The wait may last up to 10 s
 * here (5 ms by default): a busy test machine may keep the consumer's
 * thread off the CPU longer than a server's telemetry thread is. */
static void test_full_ring_waits_for_consumer(void **state)
{
    (void)state;
    struct reader rd;
    reader_open(&rd);
    reader_start(&rd);
    tycho_logsink_opts_t o = {.fd = rd.fd[1], .producer_bytes = 4096, .room_wait_ms = 10000};
    struct consumer c;
    consumer_start(&c, &o);
    char line[128];
    for (int i = 0; i < 20000; i++)
        tycho_logsink_write(line, (size_t)numbered_line(line, sizeof line, i), NULL, c.s);
    finish_lossless(&c, &rd, 20000);
}

/* Polls until the sink has nothing queued (the live consumer drained it). */
static void wait_drained(tycho_logsink_t *s)
{
    for (int i = 0; i < 500 && tycho_logsink_queued(s); i++)
        usleep(10 * 1000);
    assert_int_equal(tycho_logsink_queued(s), 0);
}

/* With the output stuck (nobody reads the pipe), a full ring waits once
 * (room_wait_ms), then drops at once: 20,000 lines take nowhere near 20,000 waits.
 * Once the output moves and the ring is half empty, waiting resumes: a
 * second burst loses nothing. */
static void test_stuck_output_waits_once(void **state)
{
    (void)state;
    struct reader rd;
    reader_open(&rd);
    tycho_logsink_opts_t o = {
        .fd = rd.fd[1], .producer_bytes = 4096, .report_interval_ms = 1, .room_wait_ms = 1000};
    struct consumer c;
    consumer_start(&c, &o);
    char line[128];
    uint64_t t0 = now_ms();
    for (int i = 0; i < 20000; i++)
        tycho_logsink_write(line, (size_t)numbered_line(line, sizeof line, i), NULL, c.s);
    uint64_t took = now_ms() - t0;
    uint64_t lost = tycho_logsink_dropped(c.s, TYCHO_DROP_QUEUE_FULL);
    if (took >= 3000) /* one wait of 1 s, not 20,000 */
        fail_msg("20,000 lines into a stuck output took %llu ms", (unsigned long long)took);
    assert_true(lost > 19000); /* the pipe holds 64 KiB, the ring 4 */

    reader_start(&rd);
    wait_drained(c.s);
    for (int i = 20000; i < 40000; i++)
        tycho_logsink_write(line, (size_t)numbered_line(line, sizeof line, i), NULL, c.s);
    consumer_stop(&c);
    assert_int_equal(tycho_logsink_flush(c.s, 5000), 0);
    assert_int_equal(tycho_logsink_dropped(c.s, TYCHO_DROP_QUEUE_FULL), lost);
    consumer_free(&c);
    reader_finish(&rd);
    const char *p = strstr(rd.data, "{\"i\":20000,");
    assert_non_null(p);
    expect_numbered(&p, 20000, 20000);
    free(rd.data);
}

/* n bytes of line, its newline included. */
static void write_line(tycho_logsink_t *s, size_t n)
{
    char line[2048];
    assert_true(n <= sizeof line);
    memset(line, 'y', n - 1);
    line[n - 1] = '\n';
    tycho_logsink_write(line, n, NULL, s);
}

/* The deadline of a flush can leave a line half-written (a partial write:
 * Linux fills the pipe's last page with what fits); the lines after it,
 * first the drop report, must not be glued to that half. A pipe of one
 * page: 2000 bytes in it, then a 4196-byte batch of which 100 bytes fit
 * (the rest needs another page); room for the report remains. */
static void test_flush_deadline_torn_line(void **state)
{
    (void)state;
    int fds[2];
    assert_int_equal(pipe(fds), 0);
    assert_int_equal(fcntl(fds[1], F_SETPIPE_SZ, 4096), 4096);
    fcntl(fds[1], F_SETFL, fcntl(fds[1], F_GETFL) | O_NONBLOCK);
    tycho_logsink_opts_t o = {.fd = fds[1], .report_interval_ms = 1};
    tycho_logsink_t *s = tycho_logsink_new(&o);
    write_line(s, 1000);
    write_line(s, 1000);
    assert_int_equal(tycho_logsink_flush(s, 1000), 0);
    for (int i = 0; i < 4; i++)
        write_line(s, 1049);
    assert_int_equal(tycho_logsink_flush(s, 100), -ETIMEDOUT);
    assert_int_equal(tycho_logsink_dropped(s, TYCHO_DROP_SHUTDOWN), 4);
    assert_int_equal(tycho_logsink_unreported(s), 0); /* the report went out */
    tycho_logsink_free(s);
    close(fds[1]);
    char out[8192];
    ssize_t n = read(fds[0], out, sizeof out - 1);
    close(fds[0]);
    assert_true(n > 2100);
    out[n] = 0;
    /* the whole lines, the torn one's first 100 bytes, then lines whole */
    const char *rep = strstr(out, "{\"time\"");
    if (!rep) fail_msg("no drop report after the torn line: %.200s", out + 1990);
    assert_int_equal(rep[-1], '\n');
    assert_non_null(strstr(rep, "\"dropped_total\":4,"));
}

int main(void)
{
    signal(SIGPIPE, SIG_IGN);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_roundtrip_wraparound),
        cmocka_unit_test(test_drops_and_report),
        cmocka_unit_test(test_too_large_report),
        cmocka_unit_test(test_flush_deadline),
        cmocka_unit_test(test_flush_deadline_torn_line),
        cmocka_unit_test(test_more_threads_than_slots),
        cmocka_unit_test(test_tap_meta),
        cmocka_unit_test(test_wake_on_filling),
        cmocka_unit_test(test_full_ring_waits_for_consumer),
        cmocka_unit_test(test_stuck_output_waits_once),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
