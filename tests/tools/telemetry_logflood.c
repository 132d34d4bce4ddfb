/* telemetry_logflood — drives the non-blocking stdout log sink the way the
 * server does (tycho_log -> tycho_logsink_write on producer threads, drained
 * on a telemetry thread with its own uv loop) against whatever stdout is.
 * Phase 1 floods from --threads threads (--lines each) as fast as possible;
 * then it sleeps --gap-ms; phase 2 logs --phase2 lines per thread at a
 * moderate pace. The line {"phase1_done":true} goes to stderr as phase 1
 * ends, the stats as one JSON object at the end.
 * A call's time is counted without the time its thread waited for a CPU
 * (Linux's per-thread run_delay, /proc/thread-self/schedstat): what is left
 * is the sink's own work and any wait in it, whatever else the machine runs.
 * Without schedstat the wall time is counted whole.
 * tests/telemetry/test_logsink_pipe.sh runs it into a pipe nobody reads for
 * a while. */
#include "core/log.h"
#include "telemetry/logsink.h"

#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <uv.h>

static int nthreads = 2, lines = 30000, gap_ms = 3000, phase2 = 2000;
static tycho_logsink_t *sink;
static uv_async_t stop_async;
static atomic_int loop_ready;
static char pad[301];

static uint64_t now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

static void on_stop(uv_async_t *a)
{
    int rc = tycho_logsink_flush(sink, 10000);
    if (rc) fprintf(stderr, "telemetry_logflood: flush: %d\n", rc);
    tycho_logsink_stop(sink);
    uv_close((uv_handle_t *)a, NULL);
}

static void *telemetry_thread(void *p)
{
    (void)p;
    uv_loop_t loop;
    uv_loop_init(&loop);
    if (tycho_logsink_start(sink, &loop) != 0) {
        fprintf(stderr, "telemetry_logflood: start failed\n");
        exit(1);
    }
    uv_async_init(&loop, &stop_async, on_stop);
    atomic_store(&loop_ready, 1);
    uv_run(&loop, UV_RUN_DEFAULT);
    uv_loop_close(&loop);
    return NULL;
}

struct prod {
    int id, phase, n;
    uint64_t max_call_us, calls_us; /* the longest call, all calls */
};

/* Microseconds the calling thread has spent runnable but waiting for a CPU
 * (the second field of fd, its /proc/thread-self/schedstat); 0 when fd < 0
 * or it cannot be read. */
static uint64_t run_delay_us(int fd)
{
    char b[96];
    ssize_t n = fd < 0 ? -1 : pread(fd, b, sizeof b - 1, 0);
    if (n <= 0) return 0;
    b[n] = 0;
    unsigned long long run_ns, delay_ns;
    if (sscanf(b, "%llu %llu", &run_ns, &delay_ns) != 2) return 0;
    return delay_ns / 1000;
}

static void *producer(void *p)
{
    struct prod *a = p;
    int sched = open("/proc/thread-self/schedstat", O_RDONLY | O_CLOEXEC);
    for (int i = 0; i < a->n; i++) {
        uint64_t d0 = run_delay_us(sched), t0 = now_us();
        tycho_log_info("flood", LF_INT("phase", a->phase), LF_INT("thread", a->id),
                       LF_INT("seq", i), LF_STR("pad", pad));
        uint64_t dt = now_us() - t0, waited_cpu = run_delay_us(sched) - d0;
        dt = dt > waited_cpu ? dt - waited_cpu : 0;
        if (dt > a->max_call_us) a->max_call_us = dt;
        a->calls_us += dt;
        if (a->phase == 2 && i % 10 == 9) usleep(500);
    }
    if (sched >= 0) close(sched);
    return NULL;
}

/* The phase's wall time; *max_call the longest call, *calls (if not NULL)
 * the longest thread's total of its calls (both without waits for a CPU). */
static uint64_t run_phase(int phase, int n, uint64_t *max_call, uint64_t *calls)
{
    pthread_t th[64];
    struct prod args[64];
    uint64_t t0 = now_us();
    for (int i = 0; i < nthreads; i++) {
        args[i] = (struct prod){.id = i, .phase = phase, .n = n};
        pthread_create(&th[i], NULL, producer, &args[i]);
    }
    *max_call = 0;
    uint64_t most = 0;
    for (int i = 0; i < nthreads; i++) {
        pthread_join(th[i], NULL);
        if (args[i].max_call_us > *max_call) *max_call = args[i].max_call_us;
        if (args[i].calls_us > most) most = args[i].calls_us;
    }
    if (calls) *calls = most;
    return now_us() - t0;
}

int main(int argc, char **argv)
{
    for (int i = 1; i + 1 < argc; i += 2) {
        int v = atoi(argv[i + 1]);
        if (!strcmp(argv[i], "--threads"))
            nthreads = v < 1 ? 1 : v > 64 ? 64 : v;
        else if (!strcmp(argv[i], "--lines"))
            lines = v;
        else if (!strcmp(argv[i], "--gap-ms"))
            gap_ms = v;
        else if (!strcmp(argv[i], "--phase2"))
            phase2 = v;
    }
    signal(SIGPIPE, SIG_IGN); /* the server does the same: a closed stdout is an EPIPE */
    memset(pad, 'p', sizeof pad - 1);
    tycho_logsink_opts_t o = {.report_interval_ms = 200, .service = "logflood"};
    sink = tycho_logsink_new(&o);
    if (!sink) return 1;
    pthread_t tt;
    pthread_create(&tt, NULL, telemetry_thread, NULL);
    while (!atomic_load(&loop_ready))
        usleep(1000);
    const tycho_log_sink_t to_sink = {tycho_logsink_write, sink};
    tycho_log_set_sink(&to_sink);

    uint64_t max1, max2, calls1;
    uint64_t t1 = run_phase(1, lines, &max1, &calls1);
    uint64_t dropped_after_1 = tycho_logsink_dropped(sink, TYCHO_DROP_QUEUE_FULL);
    fprintf(stderr, "{\"phase1_done\":true}\n");
    usleep((useconds_t)gap_ms * 1000);
    uint64_t t2 = run_phase(2, phase2, &max2, NULL);
    usleep(100000);

    uv_async_send(&stop_async);
    pthread_join(tt, NULL);
    tycho_log_set_sink(NULL);
    uint64_t total = 0;
    for (int r = 0; r < TYCHO_DROP_COUNT_; r++)
        total += tycho_logsink_dropped(sink, r);
    fprintf(stderr,
            "{\"threads\":%d,\"phase1_lines\":%d,\"phase1_ms\":%.1f,\"phase1_calls_ms\":%.1f,"
            "\"phase1_max_call_us\":%llu,"
            "\"dropped_after_phase1\":%llu,\"phase2_lines\":%d,\"phase2_ms\":%.1f,"
            "\"phase2_max_call_us\":%llu,\"dropped_queue_full\":%llu,\"dropped_total\":%llu}\n",
            nthreads, lines, (double)t1 / 1000, (double)calls1 / 1000, (unsigned long long)max1,
            (unsigned long long)dropped_after_1, phase2, (double)t2 / 1000,
            (unsigned long long)max2,
            (unsigned long long)tycho_logsink_dropped(sink, TYCHO_DROP_QUEUE_FULL),
            (unsigned long long)total);
    tycho_logsink_free(sink);
    return 0;
}
