/* A histogram observation's cost on its owner thread, without a server:
 * N observations through a resolved series handle (the request observer's
 * path) and N through the keyed call (a Lua route's h:observe resolves its
 * series the same way), of values spread over the default latency buckets.
 * With "scrape" as the second argument a second thread snapshots the
 * registry in a loop meanwhile, as /metrics and the remote write do.
 * Prints ns per observation for each path. bench/metrics_observe.sh runs it. */
#include "telemetry/metrics.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static atomic_int g_stop;

static double seconds(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

static void *scraper(void *p)
{
    tycho_metrics_t *r = p;
    long snaps = 0;
    while (!atomic_load(&g_stop)) {
        tycho_metrics_snapshot_t *s = tycho_metrics_snapshot(r);
        if (!s) {
            fprintf(stderr, "observe: snapshot: out of memory\n");
            exit(1);
        }
        tycho_metrics_snapshot_free(s);
        snaps++;
    }
    return (void *)snaps;
}

/* Values cycling through every bucket (0.001 .. 20 s). */
static const double values[16] = {0.001, 0.004, 0.008, 0.02, 0.03, 0.07, 0.09, 0.2,
                                  0.3,   0.7,   0.9,   2,    3.5,  7,    9,    20};

int main(int argc, char **argv)
{
    long n = argc > 1 ? atol(argv[1]) : 0;
    int scrape = argc > 2 && strcmp(argv[2], "scrape") == 0;
    if (n <= 0 || (argc > 2 && !scrape)) {
        fprintf(stderr, "usage: observe observations>0 [scrape]\n");
        return 2;
    }
    tycho_metrics_t *r = tycho_metrics_new(2, 0);
    tycho_metric_t *h;
    char err[256];
    const char *names[] = {"route", "status_class"};
    tycho_metric_opts_t o = {.name = "bench_seconds",
                             .type = TYCHO_METRIC_HISTOGRAM,
                             .label_names = names,
                             .nlabels = 2};
    if (!r || tycho_metrics_register(r, &o, &h, err, sizeof err) != 0) {
        fprintf(stderr, "observe: cannot register: %s\n", r ? err : "out of memory");
        return 1;
    }
    const char *lv[] = {"/api/items", "2xx"};
    tycho_series_t *s = tycho_metric_series(h, 0, lv, NULL);
    if (!s) {
        fprintf(stderr, "observe: cannot resolve the series\n");
        return 1;
    }
    pthread_t th;
    if (scrape && pthread_create(&th, NULL, scraper, r) != 0) {
        fprintf(stderr, "observe: cannot start the scraper\n");
        return 1;
    }
    double t0 = seconds();
    for (long i = 0; i < n; i++)
        if (tycho_series_observe(s, values[i & 15]) != 0) return 1;
    double t1 = seconds();
    for (long i = 0; i < n; i++)
        if (tycho_metric_observe(h, 0, lv, values[i & 15]) != 0) return 1;
    double t2 = seconds();
    long snaps = 0;
    if (scrape) {
        atomic_store(&g_stop, 1);
        void *ret;
        pthread_join(th, &ret);
        snaps = (long)ret;
    }
    printf("handle %.2f ns/observation, keyed %.2f ns/observation", (t1 - t0) * 1e9 / (double)n,
           (t2 - t1) * 1e9 / (double)n);
    if (scrape) printf(" (%ld scrapes meanwhile)", snaps);
    printf("\n");
    tycho_metrics_free(r);
    return 0;
}
